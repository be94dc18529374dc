"""contacts get roles, a lookup key and a Slack user; clients get the advocate-first heads-up episode (§4.13)

Every existing contact is kept: the primary one becomes role 'primary' (the advocate), the others 'other';
`is_primary` stays, mirroring the role. A client with several primary contacts (never written by Rapport, but
possible by hand) keeps the oldest as primary. Two contacts of one client whose names only differ in case or
spacing keep both, the later one with its id appended so the new unique key holds. Downgrading drops only what
this adds.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from storage.names import name_key


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000

contacts = sa.table("contacts", sa.column("id", sa.Integer), sa.column("client_id", sa.Integer),
                    sa.column("name", sa.String), sa.column("name_key", sa.String),
                    sa.column("is_primary", sa.Boolean), sa.column("role", sa.String))


def upgrade() -> None:
    # Only ADD COLUMN and CREATE INDEX: on SQLite, rebuilding `contacts` or `clients` (what batch mode does for
    # anything more) would drop the old table with foreign keys on, and every touch's contact (ON DELETE SET NULL),
    # or every client's history (CASCADE), with it.
    op.add_column('contacts', sa.Column('name_key', sa.String(length=300), server_default=sa.text("''"),
                                        nullable=False))
    op.add_column('contacts', sa.Column('role', sa.String(length=16), server_default=sa.text("'other'"),
                                        nullable=False))
    op.add_column('contacts', sa.Column('slack_user_id', sa.String(length=32), nullable=True))
    op.add_column('contacts', sa.Column('created_by', sa.String(length=32), server_default=sa.text("''"),
                                        nullable=False))
    _fill()
    if op.get_bind().dialect.name == "postgresql":
        # every row has its key now; SQLite keeps the '' default (dropping it would rebuild the table)
        op.alter_column('contacts', 'name_key', server_default=None)
    op.create_index('uq_contacts_client_id_name_key', 'contacts', ['client_id', 'name_key'], unique=True)
    op.create_index('ix_contacts_workspace_slack_user', 'contacts', ['workspace_id', 'slack_user_id'], unique=False)
    op.create_index('ix_contacts_one_primary', 'contacts', ['client_id'], unique=True,
                    sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))

    op.add_column('clients', sa.Column('heads_up_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('clients', sa.Column('heads_up_sponsor_id', sa.Integer(), nullable=True))
    op.add_column('clients', sa.Column('next_heads_up_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_clients_next_heads_up_at', 'clients', ['next_heads_up_at'], unique=False)
    op.create_index('ix_clients_workspace_next_heads_up_at', 'clients', ['workspace_id', 'next_heads_up_at', 'id'],
                    unique=False)


def _fill() -> None:
    bind = op.get_bind()
    last = 0
    seen: dict[int, set[str]] = {}
    primary_of: dict[int, int] = {}
    while True:
        rows = bind.execute(sa.select(contacts.c.id, contacts.c.client_id, contacts.c.name, contacts.c.is_primary)
                            .where(contacts.c.id > last).order_by(contacts.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        for row in rows:
            name, key = row.name, name_key(row.name)
            keys = seen.setdefault(row.client_id, set())
            if key in keys:
                name = f"{row.name} ({row.id})"[:100]
                key = name_key(name)
            keys.add(key)
            primary = bool(row.is_primary) and row.client_id not in primary_of
            if primary:
                primary_of[row.client_id] = row.id
            bind.execute(sa.update(contacts).where(contacts.c.id == row.id).values(
                name=name, name_key=key, is_primary=primary, role="primary" if primary else "other"))


def downgrade() -> None:
    op.drop_index('ix_clients_workspace_next_heads_up_at', table_name='clients')
    op.drop_index('ix_clients_next_heads_up_at', table_name='clients')
    op.drop_index('ix_contacts_one_primary', table_name='contacts')
    op.drop_index('ix_contacts_workspace_slack_user', table_name='contacts')
    op.drop_index('uq_contacts_client_id_name_key', table_name='contacts')
    for table, column in (('clients', 'next_heads_up_at'), ('clients', 'heads_up_sponsor_id'),
                          ('clients', 'heads_up_since'), ('contacts', 'created_by'), ('contacts', 'slack_user_id'),
                          ('contacts', 'role'), ('contacts', 'name_key')):
        op.drop_column(table, column)  # ALTER TABLE DROP COLUMN (SQLite 3.35+): no table is rebuilt
