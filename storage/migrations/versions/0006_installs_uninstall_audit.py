"""OAuth installations and state (slack_sdk's SQLAlchemy stores), uninstall time, and the audit trail

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 14:00:00

The slack_* tables are written out here as slack_sdk 3.x's SQLAlchemyInstallationStore and
SQLAlchemyOAuthStateStore define them (a migration must not change when the library does); the OAuth tests
run those stores against a database migrated by this file.
"""
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NO_UPDATE_SQLITE = """
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
"""
NO_UPDATE_POSTGRESQL = (
    """CREATE FUNCTION audit_events_no_update() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_no_update()""",
)


def _bot_columns(*, enterprise_url: bool) -> list[sa.Column[Any]]:
    return [
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('client_id', sa.String(32), nullable=False),
        sa.Column('app_id', sa.String(32), nullable=False),
        sa.Column('enterprise_id', sa.String(32)),
        sa.Column('enterprise_name', sa.String(200)),
        *([sa.Column('enterprise_url', sa.String(200))] if enterprise_url else []),
        sa.Column('team_id', sa.String(32)),
        sa.Column('team_name', sa.String(200)),
        sa.Column('bot_token', sa.String(200)),
        sa.Column('bot_id', sa.String(32)),
        sa.Column('bot_user_id', sa.String(32)),
        sa.Column('bot_scopes', sa.String(1000)),
        sa.Column('bot_refresh_token', sa.String(200)),
        sa.Column('bot_token_expires_at', sa.DateTime()),
    ]


def upgrade() -> None:
    op.create_table(
        'slack_bots', *_bot_columns(enterprise_url=False),
        sa.Column('is_enterprise_install', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('installed_at', sa.DateTime(), nullable=False, server_default=sa.func.now()),
    )
    op.create_index('slack_bots_idx', 'slack_bots', ['client_id', 'enterprise_id', 'team_id', 'installed_at'])
    op.create_table(
        'slack_installations', *_bot_columns(enterprise_url=True),
        sa.Column('user_id', sa.String(32), nullable=False),
        sa.Column('user_token', sa.String(200)),
        sa.Column('user_scopes', sa.String(1000)),
        sa.Column('user_refresh_token', sa.String(200)),
        sa.Column('user_token_expires_at', sa.DateTime()),
        sa.Column('incoming_webhook_url', sa.String(200)),
        sa.Column('incoming_webhook_channel', sa.String(200)),
        sa.Column('incoming_webhook_channel_id', sa.String(200)),
        sa.Column('incoming_webhook_configuration_url', sa.String(200)),
        sa.Column('is_enterprise_install', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('token_type', sa.String(32)),
        sa.Column('installed_at', sa.DateTime(), nullable=False, server_default=sa.func.now()),
    )
    op.create_index('slack_installations_idx', 'slack_installations',
                    ['client_id', 'enterprise_id', 'team_id', 'user_id', 'installed_at'])
    op.create_table(
        'slack_oauth_states',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('state', sa.String(200), nullable=False),
        sa.Column('expire_at', sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uninstalled_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.String(length=300), server_default=sa.text("''"), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_audit_events_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    op.create_index('ix_audit_events_workspace_client', 'audit_events', ['workspace_id', 'client_id', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        for statement in NO_UPDATE_POSTGRESQL:
            op.execute(statement)
    else:
        op.execute(NO_UPDATE_SQLITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_events_no_update ON audit_events")
        op.execute("DROP FUNCTION audit_events_no_update()")
    op.drop_index('ix_audit_events_workspace_client', table_name='audit_events')
    op.drop_table('audit_events')
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.drop_column('uninstalled_at')
    op.drop_table('slack_oauth_states')
    op.drop_index('slack_installations_idx', table_name='slack_installations')
    op.drop_table('slack_installations')
    op.drop_index('slack_bots_idx', table_name='slack_bots')
    op.drop_table('slack_bots')
