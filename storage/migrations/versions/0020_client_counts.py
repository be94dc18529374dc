"""how many clients a workspace has, by owner and status, kept by triggers on `clients` (issue 24): `/client
list`'s totals become a sum of a few rows instead of a count of every client

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:40:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# One row of +1/-1 per change: a writer only ever inserts, so no two writers wait on one counter row.
_ROW = "INSERT INTO client_counts (workspace_id, owner_id, status, delta) VALUES ({0}.workspace_id, {0}.owner_id, " \
       "{0}.status, {1});"
_CHANGED = ("OLD.workspace_id {0} NEW.workspace_id OR OLD.owner_id {0} NEW.owner_id OR OLD.status {0} NEW.status")

POSTGRESQL = [
    # search_path fixed at creation: the function finds client_counts in the schema it was made in
    f"""CREATE FUNCTION client_counts_kept() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {_ROW.format('OLD', -1)} END IF;
    IF TG_OP <> 'DELETE' THEN {_ROW.format('NEW', 1)} END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER tg_clients_counted AFTER INSERT OR DELETE ON clients FOR EACH ROW "
    "EXECUTE FUNCTION client_counts_kept()",
    "CREATE TRIGGER tg_clients_recounted AFTER UPDATE OF workspace_id, owner_id, status ON clients FOR EACH ROW "
    f"WHEN ({_CHANGED.format('IS DISTINCT FROM')}) EXECUTE FUNCTION client_counts_kept()",
]
SQLITE = [
    f"CREATE TRIGGER tg_clients_counted_insert AFTER INSERT ON clients BEGIN {_ROW.format('NEW', 1)} END",
    f"CREATE TRIGGER tg_clients_counted_delete AFTER DELETE ON clients BEGIN {_ROW.format('OLD', -1)} END",
    f"CREATE TRIGGER tg_clients_recounted AFTER UPDATE OF workspace_id, owner_id, status ON clients "
    f"WHEN {_CHANGED.format('IS NOT')} BEGIN {_ROW.format('OLD', -1)} {_ROW.format('NEW', 1)} END",
]


def upgrade() -> None:
    op.create_table(
        'client_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('delta', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_client_counts_workspace_id_workspaces'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_client_counts')),
    )
    op.create_index('ix_client_counts_workspace_status_owner', 'client_counts',
                    ['workspace_id', 'status', 'owner_id', 'delta'], unique=False)
    # the clients already there, counted once: nobody adds one until the migration commits (CREATE TRIGGER locks
    # `clients` against writes until then on PostgreSQL; SQLite has one writer)
    for statement in POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else SQLITE:
        op.execute(statement)
    op.execute("INSERT INTO client_counts (workspace_id, owner_id, status, delta) "
               "SELECT workspace_id, owner_id, status, count(*) FROM clients GROUP BY workspace_id, owner_id, status")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER tg_clients_recounted ON clients")
        op.execute("DROP TRIGGER tg_clients_counted ON clients")
        op.execute("DROP FUNCTION client_counts_kept()")
    else:
        for name in ('tg_clients_recounted', 'tg_clients_counted_delete', 'tg_clients_counted_insert'):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index('ix_client_counts_workspace_status_owner', table_name='client_counts')
    op.drop_table('client_counts')
