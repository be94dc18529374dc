"""goals agreed with a client, with the odds stated then, and each weekly confidence answer (PRODUCT.md §4.11)

Nothing existing changes; nudges gain the goal they are about. Downgrading drops only what this adds.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 11:31:45

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('goals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('what', sa.String(length=300), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('odds', sa.Integer(), server_default=sa.text('70'), nullable=False),
    sa.Column('barriers', sa.Text(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=8), server_default=sa.text("'open'"), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=32), nullable=True),
    sa.Column('closed_note', sa.Text(), nullable=True),
    sa.Column('confidence', sa.Integer(), nullable=True),
    sa.Column('confidence_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('at_risk_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_goals_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_goals_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals'))
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index('ix_goals_client_status', ['client_id', 'status'], unique=False)
        batch_op.create_index('ix_goals_workspace_next_check_at', ['workspace_id', 'next_check_at', 'id'], unique=False)
        batch_op.create_index('ix_goals_workspace_owner_status', ['workspace_id', 'owner_id', 'status'], unique=False)

    op.create_table('goal_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_goal_checks_goal_id_goals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_goal_checks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goal_checks'))
    )
    with op.batch_alter_table('goal_checks', schema=None) as batch_op:
        batch_op.create_index('ix_goal_checks_goal_at', ['goal_id', 'at'], unique=False)

    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('goal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_nudges_goal_id_goals'), 'goals', ['goal_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nudges_goal_id_goals'), type_='foreignkey')
        batch_op.drop_column('goal_id')

    with op.batch_alter_table('goal_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_goal_checks_goal_at')

    op.drop_table('goal_checks')
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.drop_index('ix_goals_workspace_owner_status')
        batch_op.drop_index('ix_goals_workspace_next_check_at')
        batch_op.drop_index('ix_goals_client_status')

    op.drop_table('goals')
