"""Each person's own pace for cards (PRODUCT.md §4.8): read for a pass of focus, one person's for App Home and
`/client me`, and written by them. Each takes the caller's session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import PersonPace


def paces_of(session: Session, workspace_id: int) -> dict[str, PersonPace]:
    """Everyone in the workspace who set a pace of their own: a row per such person, read once per pass."""
    return {p.user_id: p for p in session.scalars(select(PersonPace).where(PersonPace.workspace_id == workspace_id))}


def pace_of(session: Session, workspace_id: int, user_id: str) -> PersonPace | None:
    return session.get(PersonPace, (workspace_id, user_id))


def pace_for_update(session: Session, workspace_id: int, user_id: str, now: datetime) -> PersonPace:
    """The person's row, made if new and locked: two changes at once apply one after the other."""
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert_fn(PersonPace).values(workspace_id=workspace_id, user_id=user_id, updated_at=now)
                    .on_conflict_do_nothing())
    stmt = (select(PersonPace).where(PersonPace.workspace_id == workspace_id, PersonPace.user_id == user_id)
            .with_for_update().execution_options(populate_existing=True))
    return session.scalars(stmt).one()

