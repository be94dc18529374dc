"""Queries for goals (PRODUCT.md §4.11): goals agreed with a client and each weekly confidence answer. Each takes
the caller's session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.due import due_page
from storage.models import Client, Goal, GoalCheck, Nudge

OPEN = "open"
CLOSED = ("met", "missed")


_OPEN_GOALS = (select(Goal).where(Goal.client_id == bindparam("client_id"), Goal.status == OPEN)
               .order_by(Goal.due_on, Goal.id))  # built once: every card reads it


def open_goals(session: Session, client_id: int) -> list[Goal]:
    """A client's open goals, soonest due first."""
    return list(session.scalars(_OPEN_GOALS, {"client_id": client_id}))


def get_goal(session: Session, workspace_id: int, goal_id: int) -> Goal | None:
    return session.scalars(select(Goal).where(Goal.workspace_id == workspace_id, Goal.id == goal_id)).one_or_none()


def due_goals(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
              limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Goal, Client]]:
    """Open goals whose rule is due a look, with their clients (storage.due.due_page)."""
    return due_page(session, Goal, now, [Goal.status == OPEN], after=after, limit=limit, workspace_id=workspace_id,
                    due=Goal.next_check_at)


def confidences_since(session: Session, goal_id: int, since: datetime) -> list[int]:
    """The answers given since then, oldest first: the drop rule reads them."""
    stmt = select(GoalCheck.confidence).where(GoalCheck.goal_id == goal_id, GoalCheck.at >= since)
    return list(session.scalars(stmt.order_by(GoalCheck.at, GoalCheck.id)))




def owner_goals(session: Session, workspace_id: int, owner_id: str) -> list[tuple[Goal, Client]]:
    """A person's open goals, soonest due first."""
    stmt = (select(Goal, Client).join(Client, Client.id == Goal.client_id)
            .where(Goal.workspace_id == workspace_id, Goal.owner_id == owner_id, Goal.status == OPEN)
            .order_by(Goal.due_on, Goal.id))
    return [(goal, client) for goal, client in session.execute(stmt)]


def closed_goal_outcomes(session: Session, workspace_id: int, owner_id: str,
                         until: datetime | None = None) -> list[tuple[int, str]]:
    """(stated odds, 'met' or 'missed') of every goal a person has closed (before `until`, for a month's review):
    what calibration compares."""
    stmt = select(Goal.odds, Goal.status).where(Goal.workspace_id == workspace_id, Goal.owner_id == owner_id,
                                                Goal.status.in_(CLOSED))
    if until is not None:
        stmt = stmt.where(Goal.closed_at < until)
    return [(odds, status) for odds, status in session.execute(stmt)]


def unhandled_nudges_of_goal(session: Session, goal_id: int) -> list[Nudge]:
    """Its nudges nobody has acted on: waiting, about to be posted, or on a card still open."""
    stmt = select(Nudge).where(Nudge.goal_id == goal_id, Nudge.handled_at.is_(None),
                               Nudge.status.in_(("pending", "sent", "sending")))
    return list(session.scalars(stmt.order_by(Nudge.id)))

