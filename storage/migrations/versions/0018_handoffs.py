"""handoffs and closeouts (PRODUCT.md §4.13), and the referral channel's schedule (§4.14)

New tables for handoffs, closeouts and their ticks; clients gain the halved-quiet window and when the referral
card's rule looks next and last asked. Downgrading drops only what this adds.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 11:27:52

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('closeouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_closeouts_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_closeouts_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closeouts'))
    )
    with op.batch_alter_table('closeouts', schema=None) as batch_op:
        batch_op.create_index('ix_closeouts_client_done', ['client_id', 'done_at'], unique=False)
        batch_op.create_index('ix_closeouts_workspace_next_check_at', ['workspace_id', 'next_check_at', 'id'], unique=False)
        batch_op.create_index('ix_closeouts_open_client', ['client_id'], unique=True,
                              sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('from_user', sa.String(length=32), nullable=False),
    sa.Column('to_user', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=32), nullable=False),
    sa.Column('introduced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('introduced_by', sa.String(length=32), nullable=True),
    sa.Column('intro_reminded', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('checkins', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_handoffs_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_handoffs_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_client_at', ['client_id', 'at'], unique=False)
        batch_op.create_index('ix_handoffs_workspace_next_check_at', ['workspace_id', 'next_check_at', 'id'], unique=False)

    op.create_table('closeout_ticks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('closeout_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=16), nullable=False),
    sa.Column('by', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closeout_id'], ['closeouts.id'], name=op.f('fk_closeout_ticks_closeout_id_closeouts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_closeout_ticks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closeout_ticks')),
    sa.UniqueConstraint('closeout_id', 'item', name=op.f('uq_closeout_ticks_closeout_id_item'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('halved_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_referable_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('referable_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_next_referable_at'), ['next_referable_at'], unique=False)
        batch_op.create_index('ix_clients_workspace_next_referable_at', ['workspace_id', 'next_referable_at', 'id'], unique=False)



def downgrade() -> None:
    # never batch mode on clients: on SQLite it rebuilds the table, and with foreign keys on, dropping the old one
    # deletes every row that refers to a client (as 0017's downgrade explains)
    op.drop_index('ix_clients_workspace_next_referable_at', table_name='clients')
    op.drop_index('ix_clients_next_referable_at', table_name='clients')
    for column in ('referable_asked_at', 'next_referable_at', 'halved_until'):
        op.drop_column('clients', column)  # ALTER TABLE DROP COLUMN (SQLite 3.35+): no table is rebuilt

    op.drop_table('closeout_ticks')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_workspace_next_check_at')
        batch_op.drop_index('ix_handoffs_client_at')

    op.drop_table('handoffs')
    with op.batch_alter_table('closeouts', schema=None) as batch_op:
        batch_op.drop_index('ix_closeouts_open_client')
        batch_op.drop_index('ix_closeouts_workspace_next_check_at')
        batch_op.drop_index('ix_closeouts_client_done')

    op.drop_table('closeouts')
