"""Queries for commitments (PRODUCT.md §4.10): promises we made and issues a client waits on. Each takes the
caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from storage.due import due_page
from storage.models import Client, Commitment, Interaction, Nudge
from storage.signs import our_late_signs

FROM_US = ("out", "both")


_OPEN = (select(Commitment).where(Commitment.client_id == bindparam("client_id"), Commitment.done_at.is_(None))
         .order_by(Commitment.due_on.is_(None), Commitment.due_on, Commitment.id))  # built once: every card reads it


def open_commitments(session: Session, client_id: int, kind: str | None = None) -> list[Commitment]:
    stmt = _OPEN if kind is None else _OPEN.where(Commitment.kind == kind)
    return list(session.scalars(stmt, {"client_id": client_id}))


def get_commitment(session: Session, workspace_id: int, commitment_id: int) -> Commitment | None:
    stmt = select(Commitment).where(Commitment.workspace_id == workspace_id, Commitment.id == commitment_id)
    return session.scalars(stmt).one_or_none()


def due_commitments(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
                    limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Commitment, Client]]:
    """Open commitments whose rule is due a look, with their clients (storage.due.due_page)."""
    return due_page(session, Commitment, now, [Commitment.done_at.is_(None)], after=after, limit=limit,
                    workspace_id=workspace_id, due=Commitment.next_check_at)


def last_touch_from_us(session: Session, client_ids: Sequence[int]) -> dict[int, datetime]:
    """Each client's latest touch from our side (logged or captured): a status update on an open issue."""
    if not client_ids:
        return {}
    stmt = (select(Interaction.client_id, func.max(Interaction.occurred_at))
            .where(Interaction.client_id.in_(list(client_ids)), Interaction.direction.in_(FROM_US))
            .group_by(Interaction.client_id))
    return {client_id: _aware(at) for client_id, at in session.execute(stmt) if at is not None}


def late_signs_of(session: Session, client_ids: Sequence[int], since: datetime
                  ) -> dict[int, list[tuple[str, datetime]]]:
    """Warning signs from what we owe (an open promise overdue, an open issue two updates behind, an open goal at
    risk: kind 'goal'): (kind, since when) per client, late since `since` or later, oldest first. One statement:
    every answer that shows health pays for this one."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    if not client_ids:
        return found
    for client_id, kind, at in session.execute(_late_signs_statement(), {"ids": list(client_ids), "since": since}):
        assert at is not None  # selected for being late since `since`
        found.setdefault(client_id, []).append((kind, _aware(at)))
    return found


@cache
def _late_signs_statement() -> Any:
    """late_signs_of's statement, built once with its values as parameters (building it is most of its cost)."""
    signs = our_late_signs(lambda model: model.client_id.in_(bindparam("ids", expanding=True)), bindparam("since"))
    return select(signs).order_by(signs.c.client_id, signs.c.at, signs.c.kind)  # on a tie, 'goal' first, as before


def refresh_issues(session: Session, client_id: int, touched_at: datetime, now: datetime) -> None:
    """A touch from our side is a status update on each of the client's open issues: their clock restarts and
    the rule looks at them again at once."""
    session.execute(update(Commitment).where(
        Commitment.client_id == client_id, Commitment.kind == "issue", Commitment.done_at.is_(None),
        (Commitment.update_since.is_(None)) | (Commitment.update_since < touched_at)).values(
        update_since=touched_at, reminders=0, late_since=None, next_check_at=now))


def owner_commitments(session: Session, workspace_id: int, user_id: str) -> list[tuple[Commitment, Client]]:
    """Open commitments to the user's clients, or that the user made: promises soonest due first, then issues."""
    stmt = (select(Commitment, Client).join(Client, Client.id == Commitment.client_id)
            .where(Commitment.workspace_id == workspace_id, Commitment.done_at.is_(None),
                   (Client.owner_id == user_id) | (Commitment.created_by == user_id))
            .order_by(Commitment.kind.desc(), Commitment.due_on.is_(None), Commitment.due_on, Commitment.id))
    return [(c, client) for c, client in session.execute(stmt)]


def workspace_commitments(session: Session, workspace_id: int) -> list[tuple[Commitment, Client]]:
    """Every open commitment of a workspace (what the team owes: a short list, not the portfolio)."""
    stmt = (select(Commitment, Client).join(Client, Client.id == Commitment.client_id)
            .where(Commitment.workspace_id == workspace_id, Commitment.done_at.is_(None))
            .order_by(Commitment.due_on.is_(None), Commitment.due_on, Commitment.id))
    return [(c, client) for c, client in session.execute(stmt)]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def unhandled_nudges_of(session: Session, commitment_id: int) -> list[Nudge]:
    """Its nudges nobody has acted on: waiting, about to be posted, or on a card still open."""
    stmt = select(Nudge).where(Nudge.commitment_id == commitment_id, Nudge.handled_at.is_(None),
                               Nudge.status.in_(("pending", "sent", "sending")))
    return list(session.scalars(stmt.order_by(Nudge.id)))


def client_id_of_commitment(session: Session, workspace_id: int, commitment_id: int) -> int | None:
    """Whose a commitment is, read without loading it, so that it is first loaded under the client's lock
    (storage.clients.lock_client)."""
    return session.scalar(select(Commitment.client_id).where(Commitment.workspace_id == workspace_id,
                                                             Commitment.id == commitment_id))
