"""planning is shared between processes a workspace at a time: a lease per workspace, and due-time indexes led
by the workspace

Any number of `worker`/`serve` processes on any number of machines split a sweep's planning (PRODUCT.md §7
scale-out): each workspace is planned by the one process holding its lease in that pass. The lease row says who
holds it, until when, and which pass last planned it how many times (so work repeated is measurable). Planning one
workspace pages through its due rows on (workspace, due time, id) indexes; the due-time indexes stay, to find
which workspaces have anything due at all. Nothing existing changes; downgrading drops only what this adds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CLIENT_DUE = ("next_quiet_at", "next_unanswered_at", "next_checkin_at", "next_at_risk_at", "next_advocate_at",
              "next_winback_at")
OTHERS = (("referrals", "next_nudge_at"), ("linked_channels", "next_reply_at"), ("commitments", "next_check_at"))


def upgrade() -> None:
    op.create_table(
        'planning_leases',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pass_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('planned_by', sa.String(length=200), nullable=True),
        sa.Column('plans', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_planning_leases_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_planning_leases')),
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        for column in CLIENT_DUE:
            batch_op.create_index(f'ix_clients_workspace_{column}', ['workspace_id', column, 'id'], unique=False)
    for table, column in OTHERS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_workspace_{column}', ['workspace_id', column, 'id'], unique=False)


def downgrade() -> None:
    for table, column in OTHERS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_workspace_{column}')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        for column in CLIENT_DUE:
            batch_op.drop_index(f'ix_clients_workspace_{column}')
    op.drop_table('planning_leases')
