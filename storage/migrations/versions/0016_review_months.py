"""monthly reviews frozen per client, and how far each workspace's month-end freeze has got (PRODUCT.md §4.12)

Nothing existing changes. Downgrading drops only what this adds.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 11:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('review_months',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shared_by', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_review_months_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_review_months_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_months')),
    sa.UniqueConstraint('client_id', 'month', name=op.f('uq_review_months_client_id_month'))
    )
    with op.batch_alter_table('review_months', schema=None) as batch_op:
        batch_op.create_index('ix_review_months_workspace_month', ['workspace_id', 'month', 'client_id'], unique=False)

    op.create_table('review_freezes',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('after_client_id', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_review_freezes_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_review_freezes'))
    )


def downgrade() -> None:
    op.drop_table('review_freezes')
    with op.batch_alter_table('review_months', schema=None) as batch_op:
        batch_op.drop_index('ix_review_months_workspace_month')
    op.drop_table('review_months')
