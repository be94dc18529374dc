"""contacts get roles, a lookup key and a Slack user; clients get the advocate-first heads-up episode (§4.13)

Every existing contact is kept: the primary one becomes role 'primary' (the advocate), the others 'other';
`is_primary` stays, mirroring the role. A client with several primary contacts (never written by Rapport, but
possible by hand) keeps the oldest as primary. Two contacts of one client whose names only differ in case or
spacing keep both, the later one with its id appended so the new unique key holds. Downgrading drops only what
this adds.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 11:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from storage.names import name_key


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000

contacts = sa.table("contacts", sa.column("id", sa.Integer), sa.column("client_id", sa.Integer),
                    sa.column("name", sa.String), sa.column("name_key", sa.String),
                    sa.column("is_primary", sa.Boolean), sa.column("role", sa.String))


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default=sa.text("'other'"), nullable=False))
        batch_op.add_column(sa.Column('slack_user_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=32), server_default=sa.text("''"),
                                      nullable=False))
    _fill()
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=300), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_contacts_client_id_name_key'), ['client_id', 'name_key'])
        batch_op.create_index('ix_contacts_workspace_slack_user', ['workspace_id', 'slack_user_id'], unique=False)
    op.create_index('ix_contacts_one_primary', 'contacts', ['client_id'], unique=True,
                    sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heads_up_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('heads_up_sponsor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_heads_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_next_heads_up_at'), ['next_heads_up_at'], unique=False)
        batch_op.create_index('ix_clients_workspace_next_heads_up_at', ['workspace_id', 'next_heads_up_at', 'id'],
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
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_workspace_next_heads_up_at')
        batch_op.drop_index(batch_op.f('ix_clients_next_heads_up_at'))
        batch_op.drop_column('next_heads_up_at')
        batch_op.drop_column('heads_up_sponsor_id')
        batch_op.drop_column('heads_up_since')
    op.drop_index('ix_contacts_one_primary', table_name='contacts')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_workspace_slack_user')
        batch_op.drop_constraint(batch_op.f('uq_contacts_client_id_name_key'), type_='unique')
        batch_op.drop_column('created_by')
        batch_op.drop_column('slack_user_id')
        batch_op.drop_column('role')
        batch_op.drop_column('name_key')
