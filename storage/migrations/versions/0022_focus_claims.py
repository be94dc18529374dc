"""a workspace's focus is chosen by one process a pass: the planning lease row says which pass last chose it, and
which process

Every `worker`/`serve` process sweeping a pass used to rank every open workspace's waiting nudges to choose the
day's cards (issue 32: two processes read 1.33x the rows of one, most of it the nudges table twice over). The
process that takes a workspace's focus for the pass (a conditional update of its lease row) ranks it; the others
move on. Nothing existing changes; downgrading drops only the two columns.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('planning_leases', sa.Column('focused_in', sa.DateTime(timezone=True), nullable=True))
    op.add_column('planning_leases', sa.Column('focused_by', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('planning_leases', schema=None) as batch_op:
        batch_op.drop_column('focused_by')
        batch_op.drop_column('focused_in')
