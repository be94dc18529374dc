"""nudge handling from Slack

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handled_action', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('handled_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_nudges_message', ['channel_id', 'message_ts'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_index('ix_nudges_message')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('handled_by')
        batch_op.drop_column('handled_action')
