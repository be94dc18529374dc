"""a captured touch is unique per workspace: (workspace, channel, message ts), not (channel, message ts)

A Slack Connect channel has the same id in every organisation, so two installed workspaces can both link it; with
the old key the second workspace's touch of a message was silently dropped (PRODUCT.md §5 "Tenants"). Every
existing row stays: what was unique per channel and message is unique per workspace, channel and message too.
Linked channels get an index on the channel id: each message event asks which workspaces linked its channel.
Downgrading fails if two workspaces have since captured the same message (the old key cannot hold both).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CAPTURED = sa.text("source = 'slack'")


def upgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_captured_message', sqlite_where=CAPTURED, postgresql_where=CAPTURED)
        batch_op.create_index('ix_interactions_captured_message', ['workspace_id', 'channel_id', 'message_ts'],
                              unique=True, sqlite_where=CAPTURED, postgresql_where=CAPTURED)
    with op.batch_alter_table('linked_channels', schema=None) as batch_op:
        batch_op.create_index('ix_linked_channels_channel', ['channel_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('linked_channels', schema=None) as batch_op:
        batch_op.drop_index('ix_linked_channels_channel')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_captured_message', sqlite_where=CAPTURED, postgresql_where=CAPTURED)
        batch_op.create_index('ix_interactions_captured_message', ['channel_id', 'message_ts'], unique=True,
                              sqlite_where=CAPTURED, postgresql_where=CAPTURED)
