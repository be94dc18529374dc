"""former-client series and the weekly digest

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('winback_nudges', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('next_winback_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_next_winback_at'), ['next_winback_at'], unique=False)
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.alter_column('client_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM nudges WHERE client_id IS NULL")
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.alter_column('client_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_next_winback_at'))
        batch_op.drop_column('next_winback_at')
        batch_op.drop_column('winback_nudges')
