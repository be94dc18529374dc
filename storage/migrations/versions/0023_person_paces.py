"""each person's own pace for cards (issue 34, PRODUCT.md §4.8): cards a workday, the hour they come, a pause

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-14 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0023'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('person_paces',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('cards', sa.Integer(), nullable=True),
    sa.Column('at', sa.String(length=5), nullable=True),
    sa.Column('tz', sa.String(length=64), nullable=True),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_person_paces_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id', 'user_id', name=op.f('pk_person_paces'))
    )


def downgrade() -> None:
    op.drop_table('person_paces')
