"""names stored before issue 20 are brought to one visible spelling, so typed lookups find them

Issue 20 made names NFKC with invisible characters dropped before they are stored or compared
(`storage.names`). A client stored before that keeps its old `name`/`name_key` (`Ａｃｍｅ Corp`,
`Acme\u200bCorp`), which no typed name finds any more, and beside which a look-alike could be added. Each
client's name and key are recomputed with the same functions the application uses; a client whose new key
another client of its workspace already holds keeps its old spelling (reported, never merged: which one is
meant is a person's call). Nothing else changes; downgrading changes nothing back (the old spellings were the
defect).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 08:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from storage.names import name_key, normalize_name


revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000

clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("workspace_id", sa.Integer),
                   sa.column("name", sa.String), sa.column("name_key", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.select(clients.c.id, clients.c.workspace_id, clients.c.name, clients.c.name_key)
                            .where(clients.c.id > last).order_by(clients.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        for row in rows:
            name = normalize_name(row.name)
            key = name_key(row.name)
            if (name, key) == (row.name, row.name_key) or not name:
                continue
            taken = bind.execute(sa.select(clients.c.id).where(
                clients.c.workspace_id == row.workspace_id, clients.c.name_key == key, clients.c.id != row.id)).first()
            if taken is not None:
                print(f"rapport migrate: client {row.id} keeps its old spelling: client {taken.id} "
                      "of its workspace already has that name; rename or forget one of them")
                continue
            bind.execute(sa.update(clients).where(clients.c.id == row.id).values(name=name, name_key=key))


def downgrade() -> None:
    pass
