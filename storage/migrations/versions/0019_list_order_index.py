"""an index in `/client list`'s order (workspace, when we last heard from them, name), so a page of the list is
two short index walks instead of a sort of every client (issue 24)

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-07 11:40:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_clients_workspace_their_contact', 'clients',
                    ['workspace_id', 'last_their_contact_at', 'name_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_clients_workspace_their_contact', table_name='clients')
