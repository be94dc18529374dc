"""Pages of what is due a look, for planning: keyset pages so a big first sweep never reads everything at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import (
    Client,
    Closeout,
    Commitment,
    Goal,
    Handoff,
    LinkedChannel,
)
from storage.workspaces import INSTALLED


def due_clients(session: Session, column: str, now: datetime, statuses: Sequence[str], *, strict: bool = False,
                after: tuple[datetime, int] | None = None, limit: int | None = None,
                workspace_id: int | None = None) -> list[Client]:
    """The next clients whose nudge of one kind is due, in (due time, id) order after `after`: a range on that
    kind's index, so the cost is what is due. `strict`: due only once the moment has passed, not at it.
    `workspace_id`: only that workspace's (a range on its (workspace, due time) index).
    On PostgreSQL rows another planner holds are skipped, so planners racing take different batches."""
    due_at = getattr(Client, column)
    stmt = select(Client).where(
        due_at < now if strict else due_at <= now,
        Client.status.in_(list(statuses)),
        Client.workspace_id.in_(INSTALLED),
        or_(Client.snoozed_until.is_(None), Client.snoozed_until <= now),
    ).order_by(due_at, Client.id)
    if workspace_id is not None:
        stmt = stmt.where(Client.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(due_at, Client.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


DueRow = TypeVar("DueRow", Commitment, Goal, Handoff, Closeout, LinkedChannel)


def due_page(session: Session, model: type[DueRow], now: datetime, still_open: Sequence[ColumnElement[bool]], *,
             after: tuple[datetime, int] | None, limit: int | None, workspace_id: int | None,
             due: InstrumentedAttribute[datetime | None]) -> list[tuple[DueRow, Client]]:
    """Rows of `model` whose rule is due a look (its `due` column passed) and still open, with
    their clients, in (due, id) order from `after`, of installed workspaces; with a `limit`, on PostgreSQL, rows
    another planner holds are skipped. What every scheduled thing a client has (commitments, goals, handoffs,
    closeouts, a linked channel's question) is planned from."""
    stmt = (select(model, Client).join(Client, Client.id == model.client_id)
            .where(due <= now, *still_open, model.workspace_id.in_(INSTALLED))
            .order_by(due, model.id))
    if workspace_id is not None:
        stmt = stmt.where(model.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(due, model.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True, of=model)
    return [(row, client) for row, client in session.execute(stmt)]
