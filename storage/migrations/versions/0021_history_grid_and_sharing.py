"""history recorded before a client was added, Enterprise Grid migrations, and sharing a review whole (issue 30)

- clients.history_since: from when Rapport has the client's history, the earlier of when it was added and its
  earliest recorded entry (a backdated touch, an import), kept current whenever its history changes. Health on a
  past day, the six-month trend and every rule that looks back start there, not at the row's creation (PRODUCT.md
  §6). Filled for the clients already there.
- workspaces.grid_migration_at: set while Slack migrates the workspace into an Enterprise Grid org
  (grid_migration_started until grid_migration_finished): nothing is posted there meanwhile (§8); and an index on
  team_id, by which every request now finds its workspace (a team keeps its id when it joins an org).
- review_months.shared_channel, shared_ts, chart_at: where a shared review's message went and when its chart
  arrived, so a share whose chart failed is finished on retry without posting the message twice (§4.12).

Columns are added in place (no table rebuild: the triggers migration 0020 put on `clients` stay).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('clients', sa.Column('history_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('workspaces', sa.Column('grid_migration_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_workspaces_team', 'workspaces', ['team_id'], unique=False)
    op.add_column('review_months', sa.Column('shared_channel', sa.String(length=32), nullable=True))
    op.add_column('review_months', sa.Column('shared_ts', sa.String(length=32), nullable=True))
    op.add_column('review_months', sa.Column('chart_at', sa.DateTime(timezone=True), nullable=True))
    # reviews shared before this migration arrived whole, or were released: their chart is not owed again
    op.execute("UPDATE review_months SET chart_at = shared_at WHERE shared_at IS NOT NULL")
    op.execute("UPDATE clients SET history_since = created_at")
    op.execute("UPDATE clients SET history_since = (SELECT min(i.occurred_at) FROM interactions i "
               "WHERE i.client_id = clients.id) WHERE EXISTS (SELECT 1 FROM interactions i "
               "WHERE i.client_id = clients.id AND i.occurred_at < clients.created_at)")


def downgrade() -> None:
    op.drop_column('review_months', 'chart_at')
    op.drop_column('review_months', 'shared_ts')
    op.drop_column('review_months', 'shared_channel')
    op.drop_index('ix_workspaces_team', table_name='workspaces')
    op.drop_column('workspaces', 'grid_migration_at')
    op.drop_column('clients', 'history_since')
