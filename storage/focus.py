"""Queries for focus (PRODUCT.md §4.8): waiting nudges, cards and each person's daily count.

A client's nudge is *waiting* while it is pending without a card. Each takes the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Card, Client, Commitment, FocusDay, Goal, Interaction, LinkedChannel, Nudge, Referral

WAITING = and_(Nudge.status == "pending", Nudge.card_id.is_(None), Nudge.client_id.is_not(None))


@dataclass(frozen=True)
class WaitingRow:
    nudge_id: int
    client_id: int
    kind: str
    due_at: datetime
    planned_at: datetime
    value: int | None
    owner_id: str
    channel_id: str | None


def _waiting_clause(workspace_id: int, now: datetime, day: str) -> list[ColumnElement[bool]]:
    """Waiting nudges of clients that may be nudged now and have no card today."""
    return [
        WAITING,
        Nudge.workspace_id == workspace_id,
        Client.status != "paused",
        or_(Client.snoozed_until.is_(None), Client.snoozed_until <= now),
        or_(Nudge.next_attempt_at.is_(None), Nudge.next_attempt_at <= now),
        ~exists().where(Card.client_id == Nudge.client_id, Card.day == day),
    ]


def waiting_rows(session: Session, workspace_id: int, owner_id: str | None, now: datetime, day: str,
                 client_ids: Sequence[int] | None = None, skip_owners: Iterable[str] = (),
                 after_client: int = 0, limit: int | None = None) -> Iterator[WaitingRow]:
    """Streamed in client order, so a caller can group a client's reasons without holding every row; with
    `limit`, one page of rows after client `after_client`."""
    # Client.id is the nudge's client_id, known to be there once joined
    stmt = (select(Nudge.id, Client.id, Nudge.kind, Nudge.due_at, Nudge.created_at, Client.value,
                   Client.owner_id, Client.channel_id)
            .join(Client, Client.id == Nudge.client_id)
            .where(*_waiting_clause(workspace_id, now, day))
            .order_by(Nudge.client_id, Nudge.id))
    if owner_id is not None:
        stmt = stmt.where(Client.owner_id == owner_id)
    if client_ids is not None:
        stmt = stmt.where(Nudge.client_id.in_(list(client_ids)))
    skip = list(skip_owners)
    if skip:
        stmt = stmt.where(Client.owner_id.not_in(skip))
    if after_client:
        stmt = stmt.where(Nudge.client_id > after_client)
    if limit is not None:
        stmt = stmt.limit(limit)
    for row in session.execute(stmt.execution_options(yield_per=2000)):
        yield WaitingRow(*row)


def workspace_values(session: Session, workspace_id: int) -> list[int]:
    """Every value set in the workspace, ascending: the median and each client's standing come from it."""
    stmt = select(Client.value).where(Client.workspace_id == workspace_id, Client.value.is_not(None),
                                      Client.status != "former").order_by(Client.value)
    return list(session.scalars(stmt))


def lock_focus_day(session: Session, workspace_id: int, owner_id: str, day: str) -> FocusDay:
    """The person's row for the day, created if new and locked (PostgreSQL FOR UPDATE; SQLite's BEGIN
    IMMEDIATE already serialises): a second sweep selecting for the same person waits, then sees the count."""
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert_fn(FocusDay).values(workspace_id=workspace_id, owner_id=owner_id, day=day, shown=0,
                                               waiting=0).on_conflict_do_nothing())
    stmt = select(FocusDay).where(FocusDay.workspace_id == workspace_id, FocusDay.owner_id == owner_id,
                                  FocusDay.day == day).with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).one()


def previous_focus_day(session: Session, workspace_id: int, owner_id: str, day: str) -> FocusDay | None:
    stmt = (select(FocusDay).where(FocusDay.workspace_id == workspace_id, FocusDay.owner_id == owner_id,
                                   FocusDay.day < day).order_by(FocusDay.day.desc()).limit(1))
    return session.scalars(stmt).first()


def card_history(session: Session, workspace_id: int, owner_id: str | None, since: datetime
                 ) -> list[tuple[int, str, datetime, str | None, datetime | None]]:
    """(client id, day, created, closed action, closed at) of recent cards about one person's clients, or all."""
    stmt = (select(Card.client_id, Card.day, Card.created_at, Card.closed_action, Card.closed_at)
            .where(Card.workspace_id == workspace_id, Card.created_at >= since))
    if owner_id is not None:
        stmt = stmt.join(Client, Client.id == Card.client_id).where(Client.owner_id == owner_id)
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def focus_days_on(session: Session, workspace_id: int, day: str, owner_id: str | None = None
                  ) -> dict[str, tuple[int, int]]:
    """Each person's (cards shown, clients still waiting) on a workday, for those who had cards chosen: a budget
    is spent when shown reaches that person's own number."""
    stmt = select(FocusDay.owner_id, FocusDay.shown, FocusDay.waiting).where(
        FocusDay.workspace_id == workspace_id, FocusDay.day == day)
    if owner_id is not None:
        stmt = stmt.where(FocusDay.owner_id == owner_id)
    return {owner: (shown, waiting) for owner, shown, waiting in session.execute(stmt)}


_OPEN_CARDS = select(Card).where(Card.client_id == bindparam("client_id"), Card.closed_at.is_(None))  # every touch


def open_cards(session: Session, client_id: int) -> list[Card]:
    return list(session.scalars(_OPEN_CARDS, {"client_id": client_id}))


def nudges_on_card(session: Session, card_id: int) -> list[Nudge]:
    return list(session.scalars(select(Nudge).where(Nudge.card_id == card_id).order_by(Nudge.id)))


def waiting_nudges_of(session: Session, client_id: int) -> list[Nudge]:
    return list(session.scalars(select(Nudge).where(WAITING, Nudge.client_id == client_id).order_by(Nudge.id)))


@dataclass(frozen=True)
class Subjects:
    """What a batch of nudges is about, besides their clients: referrals, linked channels, commitments."""

    referrals: dict[int, Referral]
    links: dict[int, LinkedChannel]
    commitments: dict[int, Commitment]
    goals: dict[int, Goal]


def subjects_of(session: Session, nudges: Iterable[Nudge]) -> Subjects:
    nudges = list(nudges)
    referral_ids = [n.referral_id for n in nudges if n.referral_id]
    link_ids = [n.linked_channel_id for n in nudges if n.linked_channel_id]
    commitment_ids = [n.commitment_id for n in nudges if n.commitment_id]
    goal_ids = [n.goal_id for n in nudges if n.goal_id]
    return Subjects(
        {r.id: r for r in session.scalars(select(Referral).where(Referral.id.in_(referral_ids)))} if referral_ids
        else {},
        {c.id: c for c in session.scalars(select(LinkedChannel).where(LinkedChannel.id.in_(link_ids)))} if link_ids
        else {},
        {c.id: c for c in session.scalars(select(Commitment).where(Commitment.id.in_(commitment_ids)))}
        if commitment_ids else {},
        {g.id: g for g in session.scalars(select(Goal).where(Goal.id.in_(goal_ids)))} if goal_ids else {})


def waiting_for(session: Session, client_ids: Sequence[int]
                ) -> tuple[dict[int, Client], dict[int, list[Nudge]], Subjects]:
    """For a handful of clients about to be carded: the clients, their waiting nudges and what those are about,
    in a few queries."""
    ids = list(client_ids)
    clients = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_(ids)))}
    nudges: dict[int, list[Nudge]] = {}
    for nudge in session.scalars(select(Nudge).where(WAITING, Nudge.client_id.in_(ids)).order_by(Nudge.id)):
        nudges.setdefault(nudge.client_id or 0, []).append(nudge)
    return clients, nudges, subjects_of(session, (n for group in nudges.values() for n in group))


def get_card(session: Session, workspace_id: int, card_id: int) -> Card | None:
    return session.scalars(select(Card).where(Card.workspace_id == workspace_id, Card.id == card_id)).one_or_none()


def carded_between(session: Session, workspace_id: int, start: datetime, end: datetime) -> dict[int, datetime]:
    """Clients carded in [start, end), with the time of their first card then."""
    stmt = (select(Card.client_id, func.min(Card.created_at))
            .where(Card.workspace_id == workspace_id, Card.created_at >= start, Card.created_at < end)
            .group_by(Card.client_id))
    return {client_id: _aware(at) for client_id, at in session.execute(stmt)}


def touched_within(session: Session, first: dict[int, datetime], window: timedelta) -> set[int]:
    """Of these clients, those with a touch logged within `window` of the time given for each."""
    acted: set[int] = set()
    ids = list(first)
    if not ids:
        return acted
    start, end = min(first.values()), max(first.values()) + window
    for offset in range(0, len(ids), 500):
        touches = select(Interaction.client_id, Interaction.created_at).where(
            Interaction.client_id.in_(ids[offset:offset + 500]), Interaction.direction.is_not(None),
            Interaction.created_at >= start, Interaction.created_at < end)
        acted.update(client_id for client_id, at in session.execute(touches)
                     if first[client_id] <= at < first[client_id] + window)
    return acted


def _aware(moment: datetime) -> datetime:
    """An aggregate over SQLite's naive timestamp column comes back naive (the column type is not applied)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
