"""capture from email and calendars (PRODUCT.md §4.15, issue 31): a workspace's inbound key, client and own
domains, a contact's address, meetings from invitations, daily counts of what was captured and skipped, and
Mailgun's replayed tokens; a captured touch carries a digest of its message, once per client

Columns are added and indexes created in place (no batch rebuild): `clients` is not touched, so its triggers
(0020) stay, and downgrading drops only what this adds.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 20:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0023'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _fk(table: str, column: str, target: str, ondelete: str = 'CASCADE') -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.add_column('contacts', sa.Column('email', sa.String(length=254), nullable=True))
    op.create_index('ix_contacts_workspace_email', 'contacts', ['workspace_id', 'email'], unique=False)
    op.create_index('uq_contacts_client_email', 'contacts', ['client_id', 'email'], unique=True)
    op.add_column('interactions', sa.Column('mail_digest', sa.String(length=64), nullable=True))
    op.create_index('uq_interactions_mail_digest', 'interactions', ['workspace_id', 'client_id', 'mail_digest'],
                    unique=True, sqlite_where=sa.text('mail_digest IS NOT NULL'),
                    postgresql_where=sa.text('mail_digest IS NOT NULL'))

    op.create_table('mail_keys',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    _fk('mail_keys', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_mail_keys')),
    sa.UniqueConstraint('key', name=op.f('uq_mail_keys_key'))
    )
    op.create_table('client_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    _fk('client_domains', 'client_id', 'clients'),
    _fk('client_domains', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_domains')),
    sa.UniqueConstraint('workspace_id', 'domain', name=op.f('uq_client_domains_workspace_id_domain'))
    )
    op.create_index('ix_client_domains_client', 'client_domains', ['client_id'], unique=False)
    op.create_table('our_domains',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    _fk('our_domains', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('workspace_id', 'domain', name=op.f('pk_our_domains'))
    )
    op.create_table('mail_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('uid_digest', sa.String(length=64), nullable=False),
    sa.Column('recurrence', sa.String(length=32), server_default=sa.text("''"), nullable=False),
    sa.Column('sequence', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('all_day', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=True),
    sa.Column('skipped', sa.Text(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_touch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    _fk('mail_meetings', 'client_id', 'clients'),
    _fk('mail_meetings', 'contact_id', 'contacts', 'SET NULL'),
    _fk('mail_meetings', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_meetings')),
    sa.UniqueConstraint('client_id', 'uid_digest', 'recurrence',
                        name=op.f('uq_mail_meetings_client_id_uid_digest_recurrence'))
    )
    op.create_index('ix_mail_meetings_workspace_uid', 'mail_meetings', ['workspace_id', 'uid_digest'], unique=False)
    op.create_index('ix_mail_meetings_workspace_next_touch_at', 'mail_meetings',
                    ['workspace_id', 'next_touch_at', 'id'], unique=False)
    op.create_index('ix_mail_meetings_next_touch_at', 'mail_meetings', ['next_touch_at'], unique=False)
    op.create_table('mail_days',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    _fk('mail_days', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('workspace_id', 'day', 'outcome', name=op.f('pk_mail_days'))
    )
    op.create_table('mailgun_tokens',
    sa.Column('token', sa.String(length=128), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    _fk('mailgun_tokens', 'workspace_id', 'workspaces'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_mailgun_tokens'))
    )
    op.create_index('ix_mailgun_tokens_seen_at', 'mailgun_tokens', ['seen_at'], unique=False)


def downgrade() -> None:
    for table in ('mailgun_tokens', 'mail_days', 'mail_meetings', 'our_domains', 'client_domains', 'mail_keys'):
        op.drop_table(table)
    op.drop_index('uq_interactions_mail_digest', table_name='interactions')
    op.drop_index('uq_contacts_client_email', table_name='contacts')
    op.drop_index('ix_contacts_workspace_email', table_name='contacts')
    # SQLite (3.35+) drops a column in place; no table is rebuilt
    op.drop_column('interactions', 'mail_digest')
    op.drop_column('contacts', 'email')
