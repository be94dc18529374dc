"""nudge schedule and outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:17:48.818631

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('nudges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('channel_id', sa.String(length=32), nullable=True),
    sa.Column('fallback_reason', sa.String(length=64), nullable=True),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_nudges_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_nudges_referral_id_referrals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_nudges_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nudges')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_nudges_dedup_key'))
    )
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.create_index('ix_nudges_client_status', ['client_id', 'status'], unique=False)
        batch_op.create_index('ix_nudges_status_next_attempt', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_primary_contact_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_warning_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('quiet_threshold_days', sa.Integer(), server_default=sa.text('30'), nullable=False))
        batch_op.add_column(sa.Column('quiet_threshold_how', sa.String(length=16), server_default=sa.text("'default'"), nullable=False))
        batch_op.add_column(sa.Column('quiet_nudges', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('next_quiet_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_unanswered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_checkin_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_at_risk_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_advocate_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_next_advocate_at'), ['next_advocate_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_next_at_risk_at'), ['next_at_risk_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_next_checkin_at'), ['next_checkin_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_next_quiet_at'), ['next_quiet_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_next_unanswered_at'), ['next_unanswered_at'], unique=False)

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_interactions_contact_id_contacts'), 'contacts', ['contact_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thank_nudges', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('next_nudge_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_referrals_next_nudge_at'), ['next_nudge_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_next_nudge_at'))
        batch_op.drop_column('next_nudge_at')
        batch_op.drop_column('thank_nudges')

    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_interactions_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_column('contact_id')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_next_unanswered_at'))
        batch_op.drop_index(batch_op.f('ix_clients_next_advocate_at'))
        batch_op.drop_column('next_advocate_at')
        batch_op.drop_index(batch_op.f('ix_clients_next_quiet_at'))
        batch_op.drop_index(batch_op.f('ix_clients_next_checkin_at'))
        batch_op.drop_index(batch_op.f('ix_clients_next_at_risk_at'))
        batch_op.drop_column('next_at_risk_at')
        batch_op.drop_column('next_checkin_at')
        batch_op.drop_column('next_unanswered_at')
        batch_op.drop_column('next_quiet_at')
        batch_op.drop_column('quiet_nudges')
        batch_op.drop_column('quiet_threshold_how')
        batch_op.drop_column('quiet_threshold_days')
        batch_op.drop_column('last_warning_at')
        batch_op.drop_column('last_primary_contact_at')

    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_index('ix_nudges_status_next_attempt')
        batch_op.drop_index('ix_nudges_client_status')

    op.drop_table('nudges')
