"""Queries for monthly reviews (PRODUCT.md §4.12): what a page of clients did in a window of time, the frozen
months, and how far a workspace's month-end freeze has got. Each takes the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Client,
    Closeout,
    CloseoutTick,
    Commitment,
    Goal,
    GoalCheck,
    Interaction,
    Referral,
    ReviewFreeze,
    ReviewMonth,
)

CHUNK = 500  # ids per IN list
# From when a client has history (never later than when it was added): a month has its review when this is before
# the month's end, however recently the history was recorded (PRODUCT.md §6)
_TRACKED = func.coalesce(Client.history_since, Client.created_at)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    values = list(ids)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


class Touch(NamedTuple):
    """What a review reads of an interaction: plain values, not ORM objects (a month end reads millions)."""

    client_id: int
    kind: str
    direction: str | None
    occurred_at: datetime
    source: str | None
    channel_id: str | None
    permalink: str | None


def interactions_between(session: Session, client_ids: Sequence[int], start: datetime, end: datetime
                         ) -> list[Touch]:
    """Every interaction of these clients in [start, end), oldest first."""
    found: list[Touch] = []
    for ids in _chunks(client_ids):
        stmt = (select(Interaction.client_id, Interaction.kind, Interaction.direction, Interaction.occurred_at,
                       Interaction.source, Interaction.channel_id, Interaction.permalink)
                .where(Interaction.client_id.in_(ids), Interaction.occurred_at >= start,
                       Interaction.occurred_at < end)
                .order_by(Interaction.client_id, Interaction.occurred_at, Interaction.id))
        found.extend(Touch(*row) for row in session.execute(stmt))
    return found


def referral_dates_between(session: Session, client_ids: Sequence[int], start: datetime, end: datetime
                           ) -> list[tuple[int, datetime]]:
    found: list[tuple[int, datetime]] = []
    for ids in _chunks(client_ids):
        stmt = select(Referral.referrer_id, Referral.created_at).where(
            Referral.referrer_id.in_(ids), Referral.created_at >= start, Referral.created_at < end)
        found.extend((cid, at) for cid, at in session.execute(stmt))
    return found


def commitments_touching(session: Session, client_ids: Sequence[int], start: datetime, end: datetime,
                         first_day: date) -> list[Commitment]:
    """Promises and issues that mattered in [start, end): made before its end and still open at its start, done
    during it, or (a promise) due in it."""
    found: list[Commitment] = []
    for ids in _chunks(client_ids):
        stmt = (select(Commitment).where(
            Commitment.client_id.in_(ids), Commitment.created_at < end,
            or_(Commitment.done_at.is_(None), Commitment.done_at >= start, Commitment.due_on >= first_day))
            .order_by(Commitment.client_id, Commitment.due_on.is_(None), Commitment.due_on, Commitment.id))
        found.extend(session.scalars(stmt))
    return found


def goals_touching(session: Session, client_ids: Sequence[int], start: datetime, end: datetime) -> list[Goal]:
    """Goals agreed before the window's end and not closed before it began."""
    found: list[Goal] = []
    for ids in _chunks(client_ids):
        stmt = (select(Goal).where(Goal.client_id.in_(ids), Goal.created_at < end,
                                   or_(Goal.closed_at.is_(None), Goal.closed_at >= start))
                .order_by(Goal.client_id, Goal.due_on, Goal.id))
        found.extend(session.scalars(stmt))
    return found


def closeouts_touching(session: Session, client_ids: Sequence[int], start: datetime, end: datetime
                       ) -> list[tuple[Closeout, list[CloseoutTick]]]:
    """Closeouts opened before the window's end and not finished before it began, each with its ticks made before
    the end: what a month's review says of a project's close (PRODUCT.md §4.13)."""
    found: list[tuple[Closeout, list[CloseoutTick]]] = []
    for ids in _chunks(client_ids):
        closeouts = list(session.scalars(
            select(Closeout).where(Closeout.client_id.in_(ids), Closeout.opened_at < end,
                                   or_(Closeout.done_at.is_(None), Closeout.done_at >= start))
            .order_by(Closeout.client_id, Closeout.opened_at, Closeout.id)))
        ticks: dict[int, list[CloseoutTick]] = {c.id: [] for c in closeouts}
        if closeouts:
            for tick in session.scalars(select(CloseoutTick).where(CloseoutTick.closeout_id.in_(list(ticks)),
                                                                   CloseoutTick.at < end)
                                        .order_by(CloseoutTick.at, CloseoutTick.id)):
                ticks[tick.closeout_id].append(tick)
        found.extend((c, ticks[c.id]) for c in closeouts)
    return found


def goal_checks_before(session: Session, goal_ids: Sequence[int], end: datetime) -> list[GoalCheck]:
    found: list[GoalCheck] = []
    for ids in _chunks(goal_ids):
        stmt = (select(GoalCheck).where(GoalCheck.goal_id.in_(ids), GoalCheck.at < end)
                .order_by(GoalCheck.goal_id, GoalCheck.at, GoalCheck.id))
        found.extend(session.scalars(stmt))
    return found


def reviewable_clients(session: Session, workspace_id: int, after_id: int, limit: int, start: datetime,
                       end: datetime) -> list[Client]:
    """The next page (by id) of clients a month has a review for: with history before it ended and not gone
    before it began."""
    stmt = (select(Client).where(Client.workspace_id == workspace_id, Client.id > after_id, end > _TRACKED,
                                 or_(Client.ended_at.is_(None), Client.ended_at >= start))
            .order_by(Client.id).limit(limit))
    return list(session.scalars(stmt))


def frozen_review(session: Session, client_id: int, month: str) -> ReviewMonth | None:
    return session.scalars(select(ReviewMonth).where(ReviewMonth.client_id == client_id,
                                                     ReviewMonth.month == month)).one_or_none()


@dataclass(frozen=True)
class ShareStep:
    """What one click on *Share* is to do with a frozen month (PRODUCT.md §4.12: once, and whole):
    'post' it (nobody has); 'look' in the channel first (a post whose outcome Slack never told, or whose process
    died: `since` is when it was tried) and post only if it is not there; add its 'chart' (the message is there,
    its chart is not); or nothing: 'busy' (someone's post is on its way right now) or 'done' (message and chart)."""

    step: str
    month: ReviewMonth
    since: datetime | None = None


def claim_share(session: Session, client_id: int, month: str, user_id: str, channel: str, now: datetime,
                in_flight: timedelta) -> ShareStep | None:
    """Decide and claim, for a click that would post into `channel`; None when the month is not frozen (only a
    finished month is shared). The caller holds the client's lock (storage.clients.lock_client), so of two clicks at
    once the second sees what the first claimed. A post claimed less than `in_flight` ago is still on its way."""
    row = frozen_review(session, client_id, month)
    if row is None:
        return None
    if row.shared_at is None:
        row.shared_at, row.shared_by, row.shared_channel = now, user_id, channel
        row.shared_ts = None
        row.chart_at = None
        return ShareStep("post", row)
    if row.shared_ts is None:
        if now - row.shared_at < in_flight:
            return ShareStep("busy", row)
        since = row.shared_at
        row.shared_at, row.shared_by = now, user_id
        row.shared_channel = row.shared_channel or channel
        return ShareStep("look", row, since)
    if row.chart_at is None:
        row.chart_at = now
        return ShareStep("chart", row)
    return ShareStep("done", row)


def posted_share(session: Session, client_id: int, month: str, claimed_at: datetime, channel: str, ts: str,
                 chart_at: datetime | None) -> None:
    """The review's message is in `channel` (and its chart too, with `chart_at`), for the claim made at
    `claimed_at`."""
    session.execute(update(ReviewMonth).where(ReviewMonth.client_id == client_id, ReviewMonth.month == month,
                                              ReviewMonth.shared_at == claimed_at)
                    .values(shared_channel=channel, shared_ts=ts, chart_at=chart_at))


def release_share(session: Session, client_id: int, month: str, user_id: str, at: datetime) -> None:
    """The post did not happen: the month is free to share again."""
    session.execute(update(ReviewMonth).where(ReviewMonth.client_id == client_id, ReviewMonth.month == month,
                                              ReviewMonth.shared_by == user_id, ReviewMonth.shared_at == at)
                    .values(shared_at=None, shared_by=None, shared_channel=None, shared_ts=None, chart_at=None))


def release_chart(session: Session, client_id: int, month: str, at: datetime) -> None:
    """The chart did not arrive: the next click adds it."""
    session.execute(update(ReviewMonth).where(ReviewMonth.client_id == client_id, ReviewMonth.month == month,
                                              ReviewMonth.chart_at == at).values(chart_at=None))


def save_frozen(session: Session, rows: Sequence[dict[str, object]]) -> int:
    """Store a page of frozen months; a month already frozen for a client is kept as it is (frozen means
    frozen: a second pass racing this one changes nothing)."""
    # The page was worked out in an earlier, read-only transaction: a client forgotten since has no month to keep.
    # Those still here are held (FOR KEY SHARE on PostgreSQL; SQLite's write transaction already excludes every
    # other writer) so a forget cannot slip in between this read and the insert.
    ids = list({int(str(row["client_id"])) for row in rows})
    alive = set(session.scalars(select(Client.id).where(Client.id.in_(ids)).with_for_update(read=True, key_share=True)))
    rows = [row for row in rows if int(str(row["client_id"])) in alive]
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ReviewMonth).values(list(rows)).on_conflict_do_nothing(index_elements=["client_id", "month"])
    session.execute(stmt)
    return len(rows)


def freeze_states(session: Session, workspace_id: int | None = None) -> dict[int, ReviewFreeze]:
    """How far each workspace's freeze has got (or only the one given)."""
    stmt = select(ReviewFreeze)
    if workspace_id is not None:
        stmt = stmt.where(ReviewFreeze.workspace_id == workspace_id)
    return {f.workspace_id: f for f in session.scalars(stmt)}


def owners_of_month(session: Session, workspace_id: int, start: datetime, end: datetime
                    ) -> dict[str, list[tuple[int, str]]]:
    """Each owner's clients with a review of the month [start, end), by name: who the first-workday message goes
    to. Owners are read now (a client handed over since is the new owner's to share)."""
    stmt = (select(Client.owner_id, Client.id, Client.name)
            .where(Client.workspace_id == workspace_id, end > _TRACKED,
                   or_(Client.ended_at.is_(None), Client.ended_at >= start))
            .order_by(Client.owner_id, Client.name_key))
    found: dict[str, list[tuple[int, str]]] = {}
    for owner, client_id, name in session.execute(stmt):
        found.setdefault(owner, []).append((client_id, name))
    return found


def shared_count(session: Session, workspace_id: int, month: str) -> tuple[int, int]:
    """(shared, frozen) reviews of a month: the digest's 'Reviews shared last month: N of M'."""
    stmt = select(func.count(ReviewMonth.shared_at), func.count()).where(
        ReviewMonth.workspace_id == workspace_id, ReviewMonth.month == month)
    shared, total = session.execute(stmt).one()
    return int(shared), int(total)


def count_reviewable(session: Session, workspace_id: int, start: datetime, end: datetime) -> int:
    stmt = select(func.count()).select_from(Client).where(
        Client.workspace_id == workspace_id, end > _TRACKED,
        or_(Client.ended_at.is_(None), Client.ended_at >= start))
    return int(session.scalar(stmt) or 0)


def frozen_of(session: Session, client_ids: Sequence[int], month: str) -> dict[int, ReviewMonth]:
    found: dict[int, ReviewMonth] = {}
    for ids in _chunks(client_ids):
        stmt = select(ReviewMonth).where(ReviewMonth.client_id.in_(ids), ReviewMonth.month == month)
        found.update((row.client_id, row) for row in session.scalars(stmt))
    return found
