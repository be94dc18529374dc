"""capture from Slack (PRODUCT.md §4.9): linked channels, where a touch came from, and reply nudges

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('linked_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('shared', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('linked_by', sa.String(length=32), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('asked_by', sa.String(length=32), nullable=True),
    sa.Column('asked_ts', sa.String(length=32), nullable=True),
    sa.Column('asked_permalink', sa.String(length=300), nullable=True),
    sa.Column('next_reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_linked_channels_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_linked_channels_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linked_channels')),
    sa.UniqueConstraint('workspace_id', 'channel_id', name=op.f('uq_linked_channels_workspace_id_channel_id'))
    )
    with op.batch_alter_table('linked_channels', schema=None) as batch_op:
        batch_op.create_index('ix_linked_channels_client', ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_linked_channels_next_reply_at'), ['next_reply_at'], unique=False)

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('channel_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('message_ts', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('permalink', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_interactions_captured_message', ['channel_id', 'message_ts'], unique=True, sqlite_where=sa.text("source = 'slack'"), postgresql_where=sa.text("source = 'slack'"))

    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked_channel_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_nudges_linked_channel_id_linked_channels'), 'linked_channels', ['linked_channel_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nudges_linked_channel_id_linked_channels'), type_='foreignkey')
        batch_op.drop_column('linked_channel_id')

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_captured_message', sqlite_where=sa.text("source = 'slack'"), postgresql_where=sa.text("source = 'slack'"))
        batch_op.drop_column('permalink')
        batch_op.drop_column('message_ts')
        batch_op.drop_column('channel_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('linked_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_linked_channels_next_reply_at'))
        batch_op.drop_index('ix_linked_channels_client')

    op.drop_table('linked_channels')
