"""room for encrypted OAuth tokens, and markers (when the last sweep ran)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:00:00

A token sealed with Fernet is about twice as long as the token, more than slack_sdk's 200 characters for a
rotating token; the token columns of slack_sdk's tables become text. Sealing the rows already stored is
`rapport migrate`'s job after the schema is up to date (it needs RAPPORT_SECRET_KEY, a migration must not).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TOKENS = {
    'slack_bots': ('bot_token', 'bot_refresh_token'),
    'slack_installations': ('bot_token', 'bot_refresh_token', 'user_token', 'user_refresh_token'),
}


def upgrade() -> None:
    op.create_table(
        'markers',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_markers')),
    )
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(200), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(200), existing_nullable=True)
    op.drop_table('markers')
