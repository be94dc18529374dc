"""indexes for the answers people wait for (issue 24): `/client list` in its order (workspace, when we last heard
from them, name), so a page is two short index walks instead of a sort of every client; the quiet total and
`list mine`'s total from indexes alone; warning signs grouped by client from the index alone; a client's
referrals still to thank by all three of their terms

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 11:40:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_clients_workspace_their_contact', 'clients',
                    ['workspace_id', 'last_their_contact_at', 'name_key'], unique=False)
    op.create_index('ix_clients_workspace_quiet', 'clients',
                    ['workspace_id', 'status', 'quiet_nudges', 'next_quiet_at'], unique=False)
    op.drop_index('ix_clients_workspace_owner', table_name='clients')
    op.create_index('ix_clients_workspace_owner', 'clients', ['workspace_id', 'owner_id', 'status'], unique=False)
    op.drop_index('ix_interactions_workspace_kind_occurred', table_name='interactions')
    op.create_index('ix_interactions_workspace_kind_occurred', 'interactions',
                    ['workspace_id', 'kind', 'occurred_at', 'client_id'], unique=False)
    op.create_index('ix_referrals_workspace_referrer', 'referrals', ['workspace_id', 'referrer_id', 'thanked_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_referrals_workspace_referrer', table_name='referrals')
    op.drop_index('ix_interactions_workspace_kind_occurred', table_name='interactions')
    op.create_index('ix_interactions_workspace_kind_occurred', 'interactions', ['workspace_id', 'kind', 'occurred_at'],
                    unique=False)
    op.drop_index('ix_clients_workspace_owner', table_name='clients')
    op.create_index('ix_clients_workspace_owner', 'clients', ['workspace_id', 'owner_id'], unique=False)
    op.drop_index('ix_clients_workspace_quiet', table_name='clients')
    op.drop_index('ix_clients_workspace_their_contact', table_name='clients')
