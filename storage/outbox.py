"""The nudge outbox: planning writes rows once, deliverers claim, mark and release them under a lease."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Table,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Card,
    Nudge,
)
from storage.types import rows_changed


def existing_dedup_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(select(Nudge.dedup_key).where(Nudge.dedup_key.in_(list(keys[start:start + 500])))))
    return found


def insert_nudges(session: Session, rows: Sequence[Mapping[str, object]]) -> Counter[str]:
    """Insert, skipping any dedup key already planned (by this process or another): planning is idempotent.
    Returns how many of each kind were new. One cached statement executed for many rows (SQLAlchemy's
    "insertmanyvalues"), not a statement compiled for each batch."""
    if not rows:
        return Counter()
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = Nudge.__table__
    assert isinstance(table, Table)  # declarative mapping gives every model a Table; typed only as a FromClause
    stmt = insert_fn(table).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.kind)
    return Counter(session.connection().execute(stmt, list(rows)).scalars())


def claim_nudges(session: Session, now: datetime, worker: str, limit: int, lease_expired: datetime,
                 workspace_ids: Sequence[int] | None = None) -> list[Nudge]:
    """Claim what is due to post for this worker, atomically: digests, and the nudges on today's cards.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent sweepers take disjoint rows without waiting; a card is
    locked as a whole, so two sweepers never split one client's reasons between two messages. SQLite: the
    transaction began with BEGIN IMMEDIATE, so claims are serialised. A row left 'sending' past its lease
    (its worker died mid-post) is claimed again, as an unknown outcome to be checked before any resend; an unknown
    outcome's `sent_at` keeps the earliest moment its post may have reached Slack (the claim it was lost under, if
    nothing earlier).
    A client's nudge without a card is waiting for focus to choose it (storage.focus), and is not claimed.
    `workspace_ids`: only those workspaces' (the ones inside their business hours), or every workspace's.
    """
    ready = or_(Nudge.next_attempt_at.is_(None), Nudge.next_attempt_at <= now)
    claimable = or_(Nudge.status.in_(("pending", "unknown")) & ready,
                    (Nudge.status == "sending") & (Nudge.claimed_at < lease_expired))
    digests = (select(Nudge).where(claimable, Nudge.client_id.is_(None)).order_by(Nudge.id).limit(limit)
               .with_for_update(skip_locked=True))
    cards = (select(Card.id).where(Card.id.in_(select(Nudge.card_id).where(claimable, Nudge.card_id.is_not(None))))
             .order_by(Card.id).limit(limit).with_for_update(skip_locked=True))
    if workspace_ids is not None:
        digests = digests.where(Nudge.workspace_id.in_(list(workspace_ids)))
        cards = cards.where(Card.workspace_id.in_(list(workspace_ids)))
    rows = list(session.scalars(digests))
    card_ids = list(session.scalars(cards))
    for offset in range(0, len(card_ids), 500):
        rows += session.scalars(select(Nudge).where(claimable, Nudge.card_id.in_(card_ids[offset:offset + 500]))
                                .order_by(Nudge.id))
    claimed = []
    for nudge in rows:
        if nudge.status == "sending":
            nudge.status = "unknown"
        if nudge.status == "unknown" and nudge.sent_at is None:
            # Its post, if any, was made under the claim it was lost under (a worker killed mid-post, a claim given
            # back): written down now, so every later pass looks for it from there, even one whose look fails.
            nudge.sent_at = nudge.claimed_at
        claimed.append(nudge)
        nudge.claimed_by, nudge.claimed_at = worker, now
        nudge.attempts += 1
    session.flush()
    return claimed


def mark_nudges(session: Session, ids: Sequence[int], worker: str, **values: object) -> None:
    """Record an outcome, but only for rows this worker still holds."""
    if ids:
        session.execute(update(Nudge).where(Nudge.id.in_(list(ids)), Nudge.claimed_by == worker).values(**values))


def mark_unknown(session: Session, ids: Sequence[int], worker: str, posted_at: datetime, **values: object) -> None:
    """A post whose outcome is unknown: keep the first moment it may have reached Slack (in `sent_at`, which
    counts as the time sent only once the status says so), however many passes it then stays unknown."""
    mark_nudges(session, ids, worker, status="unknown", sent_at=func.coalesce(Nudge.sent_at, posted_at), **values)


def handled_message(session: Session, channel_id: str, message_ts: str, carried: Sequence[int]) -> int | None:
    """The workspace of the message (channel, ts) if it is to be rebuilt: someone has handled a nudge recorded in it
    (a touch closed its card, say), and none of the nudges it carries (`carried`) is still on its way or unsettled.
    Rebuilt before then, it would lose that one's card: the pass that records the last one rebuilds it."""
    workspace_id = session.scalar(select(Nudge.workspace_id).where(
        Nudge.channel_id == channel_id, Nudge.message_ts == message_ts, Nudge.handled_at.is_not(None)).limit(1))
    if workspace_id is None or not carried:
        return workspace_id
    unsettled = session.scalar(select(Nudge.id).where(Nudge.id.in_(list(carried)),
                                                      Nudge.status.in_(("sending", "unknown"))).limit(1))
    return workspace_id if unsettled is None else None


def release_nudges(session: Session, ids: Sequence[int], worker: str, status: str) -> None:
    """Hand claimed, unsent nudges back to the outbox: claimable again at once, the attempt not counted."""
    if ids:
        session.execute(update(Nudge).where(Nudge.id.in_(list(ids)), Nudge.claimed_by == worker).values(
            status=status, claimed_by=None, attempts=Nudge.attempts - 1))


def held_attempts(session: Session, ids: Sequence[int], worker: str) -> dict[int, int]:
    """Of these nudges, those that still exist and this worker still holds, with their attempts so far: a
    client forgotten mid-post takes its nudges with it, and a lease that ran out handed them to another."""
    if not ids:
        return {}
    return dict(session.execute(select(Nudge.id, Nudge.attempts).where(
        Nudge.id.in_(list(ids)), Nudge.claimed_by == worker)).all())


def release_claimed_at(session: Session, worker: str, claimed_at: datetime) -> int:
    """Hand back what a claim at `claimed_at` may have taken without its worker ever hearing so (the connection
    was lost around the commit): as unknown outcomes, so nothing is posted before its channel is checked."""
    result = session.execute(update(Nudge).where(
        Nudge.claimed_by == worker, Nudge.claimed_at == claimed_at, Nudge.status == "sending").values(
        status="unknown", claimed_by=None, attempts=Nudge.attempts - 1))
    return rows_changed(result)


def abandon_claims(session: Session, worker: str) -> int:
    """A process out of time to stop cleanly gives up whatever it still holds. The outcome of a post it may
    have had in flight is unknown: the next sweep looks for it in the channel's history before posting it."""
    result = session.execute(update(Nudge).where(Nudge.claimed_by == worker, Nudge.status == "sending").values(
        status="unknown", claimed_by=None, next_attempt_at=None))
    return rows_changed(result)


def drop_unsent_nudges(session: Session, workspace_id: int, reason: str) -> int:
    result = session.execute(
        update(Nudge)
        .where(Nudge.workspace_id == workspace_id, Nudge.status.in_(["pending", "unknown"]))
        .values(status="dropped", last_error=reason)
    )
    return rows_changed(result)


def outbox_figures(session: Session) -> tuple[dict[str, int], datetime | None]:
    """Nudges by status, with 'waiting' (a client's, pending without a card) apart from 'pending' (ready to
    post), and when the oldest one ready to post was planned."""
    waiting = (Nudge.status == "pending") & Nudge.card_id.is_(None) & Nudge.client_id.is_not(None)
    counts: dict[str, int] = {}
    for status, is_waiting, count in session.execute(
            select(Nudge.status, waiting, func.count()).group_by(Nudge.status, waiting)):
        key = "waiting" if is_waiting else status
        counts[key] = counts.get(key, 0) + count
    ready = Nudge.status.in_(("pending", "sending", "unknown")) & (
        Nudge.card_id.is_not(None) | Nudge.client_id.is_(None))
    oldest = session.scalar(select(func.min(Nudge.created_at)).where(ready))
    if oldest is not None and oldest.tzinfo is None:  # an aggregate over SQLite's naive column
        oldest = oldest.replace(tzinfo=UTC)
    return counts, oldest
