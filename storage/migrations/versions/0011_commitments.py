"""commitments (PRODUCT.md §4.10): promises we made and issues the client waits on, and their nudges

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 20:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('what', sa.String(length=300), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=32), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('update_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_commitments_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_commitments_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments'))
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index('ix_commitments_client_done', ['client_id', 'done_at'], unique=False)
        batch_op.create_index('ix_commitments_workspace_done', ['workspace_id', 'done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_next_check_at'), ['next_check_at'], unique=False)

    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_nudges_commitment_id_commitments'), 'commitments', ['commitment_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nudges_commitment_id_commitments'), type_='foreignkey')
        batch_op.drop_column('commitment_id')

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_next_check_at'))
        batch_op.drop_index('ix_commitments_workspace_done')
        batch_op.drop_index('ix_commitments_client_done')

    op.drop_table('commitments')
