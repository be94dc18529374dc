"""focus (PRODUCT.md §4.8): client value, cards, per-person focus days, and the nudge -> card link

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('focus_days',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('shown', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('waiting', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_focus_days_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'owner_id', 'day', name=op.f('pk_focus_days'))
    )
    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('why', sa.String(length=300), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('closed_action', sa.String(length=64), nullable=True),
    sa.Column('closed_by', sa.String(length=32), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_cards_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_cards_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('client_id', 'day', name=op.f('uq_cards_client_id_day'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index('ix_cards_workspace_owner_day', ['workspace_id', 'owner_id', 'day'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_clients_workspace_value', ['workspace_id', 'value'], unique=False)

    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_nudges_card_id'), ['card_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_nudges_card_id_cards'), 'cards', ['card_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nudges_card_id_cards'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_nudges_card_id'))
        batch_op.drop_column('card_id')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_workspace_value')
        batch_op.drop_column('value')

    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ix_cards_workspace_owner_day')

    op.drop_table('cards')
    op.drop_table('focus_days')
