"""Queries for handoffs, closeouts and the referral channel (PRODUCT.md §4.13-4.14). Each takes the caller's
session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, select, true, update
from sqlalchemy.orm import Session, aliased

from storage.due import due_page
from storage.models import Client, Closeout, CloseoutTick, Goal, Handoff, Interaction, Nudge, Referral

INTRO_KINDS = ("intro", "intro_reminder")  # the nudges asking a previous owner to introduce the new one
WINS = ("praise", "acted")  # what makes a good moment to make referring easy (PRODUCT.md §4.14)


# built once: every card and every touch reads them
_LATEST_HANDOFF = (select(Handoff).where(Handoff.client_id == bindparam("client_id"))
                   .order_by(Handoff.at.desc(), Handoff.id.desc()).limit(1))
_WAITING_INTRODUCTION = select(Handoff).where(
    Handoff.client_id == bindparam("client_id"), Handoff.to_user == bindparam("user_id"),
    Handoff.introduced_at.is_(None), Handoff.at <= bindparam("at"))
_LATEST_CLOSEOUT = (select(Closeout).where(Closeout.client_id == bindparam("client_id"))
                    .order_by(Closeout.id.desc()).limit(1))


def _latest_of_both() -> Any:
    handoff = aliased(Handoff, _LATEST_HANDOFF.subquery())
    closeout = aliased(Closeout, _LATEST_CLOSEOUT.subquery())
    return (select(handoff, closeout).select_from(select(literal(1).label("one")).subquery())
            .outerjoin(handoff, true()).outerjoin(closeout, true()))


_LATEST_OF_BOTH = _latest_of_both()


def latest_handoff_and_closeout(session: Session, client_id: int) -> tuple[Handoff | None, Closeout | None]:
    """A client's latest handoff and latest closeout, each None if there is none: one round trip for its card."""
    handoff, closeout = session.execute(_LATEST_OF_BOTH, {"client_id": client_id}).one()
    return handoff, closeout


def latest_handoff(session: Session, client_id: int) -> Handoff | None:
    return session.scalars(_LATEST_HANDOFF, {"client_id": client_id}).first()


def scheduled_handoffs(session: Session, client_id: int) -> list[Handoff]:
    """The client's handoffs whose ceremony is still scheduled (introduction, check-ins)."""
    return list(session.scalars(select(Handoff).where(Handoff.client_id == client_id,
                                                      Handoff.next_check_at.is_not(None))))


def move_open_goals(session: Session, client_id: int, to_user: str) -> int:
    """A handoff moves the client's open goals to the new owner; closed ones keep theirs (calibration is per
    owner). How many moved."""
    result = session.execute(update(Goal).where(Goal.client_id == client_id, Goal.status == "open")
                             .values(owner_id=to_user))
    return int(getattr(result, "rowcount", 0) or 0)




def mark_introduced(session: Session, client_id: int, user_id: str, at: datetime) -> list[Handoff]:
    """A touch between `user_id` and the client at `at`: the introduction of each handoff to that user made
    before it, still waiting, is done."""
    found = list(session.scalars(_WAITING_INTRODUCTION, {"client_id": client_id, "user_id": user_id, "at": at}))
    for handoff in found:
        handoff.introduced_at, handoff.introduced_by = at, user_id
    return found


def due_handoffs(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
                 limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Handoff, Client]]:
    """Handoffs whose schedule is due a look, with their clients (storage.due.due_page)."""
    return due_page(session, Handoff, now, [], after=after, limit=limit, workspace_id=workspace_id,
                    due=Handoff.next_check_at)


def open_closeout(session: Session, client_id: int) -> Closeout | None:
    stmt = select(Closeout).where(Closeout.client_id == client_id, Closeout.done_at.is_(None))
    return session.scalars(stmt.order_by(Closeout.id.desc()).limit(1)).first()


def get_closeout(session: Session, workspace_id: int, closeout_id: int) -> Closeout | None:
    return session.scalars(select(Closeout).where(Closeout.workspace_id == workspace_id,
                                                  Closeout.id == closeout_id)).one_or_none()


def client_id_of_closeout(session: Session, workspace_id: int, closeout_id: int) -> int | None:
    """Whose a closeout is, read without loading it, so that it is first loaded under the client's lock."""
    return session.scalar(select(Closeout.client_id).where(Closeout.workspace_id == workspace_id,
                                                           Closeout.id == closeout_id))


def ticks_of(session: Session, closeout_id: int) -> dict[str, CloseoutTick]:
    return {t.item: t for t in session.scalars(select(CloseoutTick).where(CloseoutTick.closeout_id == closeout_id))}


def due_closeouts(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
                  limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Closeout, Client]]:
    """Open closeouts due a look, with their clients (storage.due.due_page)."""
    return due_page(session, Closeout, now, [Closeout.done_at.is_(None)], after=after, limit=limit,
                    workspace_id=workspace_id, due=Closeout.next_check_at)


def unhandled_nudges(session: Session, client_id: int, kinds: Sequence[str]) -> list[Nudge]:
    """A client's nudges of these kinds nobody has acted on: waiting, about to be posted, or on an open card."""
    stmt = select(Nudge).where(Nudge.client_id == client_id, Nudge.kind.in_(list(kinds)),
                               Nudge.handled_at.is_(None), Nudge.status.in_(("pending", "sent", "sending")))
    return list(session.scalars(stmt.order_by(Nudge.id)))


def drop_waiting(session: Session, client_id: int, kinds: Sequence[str], reason: str) -> None:
    """The client's nudges of these kinds still waiting for a card will not be shown: what they ask is done."""
    session.execute(update(Nudge).where(Nudge.client_id == client_id, Nudge.kind.in_(list(kinds)),
                                        Nudge.status == "pending", Nudge.card_id.is_(None))
                    .values(status="dropped", last_error=reason))


def referrers_since(session: Session, workspace_id: int, since: datetime) -> set[int]:
    """Clients who referred someone since then."""
    stmt = select(Referral.referrer_id).where(Referral.workspace_id == workspace_id,
                                              Referral.created_at >= since).distinct()
    return set(session.scalars(stmt))


def last_kind_at(session: Session, client_id: int, kinds: Sequence[str]) -> datetime | None:
    """When the client's latest interaction of these kinds happened."""
    at = session.scalar(select(func.max(Interaction.occurred_at))
                          .where(Interaction.client_id == client_id, Interaction.kind.in_(list(kinds))))
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
