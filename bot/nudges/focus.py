"""Focus (PRODUCT.md §4.8): each workday each person hears about at most RAPPORT_DAILY_FOCUS clients, the ones
that matter most, on one card per client with every reason due for it. What is not chosen waits, ranked, in
App Home and the digest, and competes again the next workday.

Selection runs per person in a short transaction that locks that person's row for the day (FocusDay), so
sweeps racing in several processes never show anyone more than the budget; the unique (client, day) key on
cards keeps a client to one card a day.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.nudges import ranking
from bot.nudges.ranking import Candidate, Ranked, Reason
from bot.nudges.relevance import relevance
from bot.settings import Settings
from bot.workspaces import tz_of
from storage.focus import (
    WaitingRow,
    card_history,
    lock_focus_day,
    owners_waiting,
    previous_focus_day,
    waiting_nudges_of,
    waiting_rows,
    workspace_values,
)
from storage.models import Card, Client, Referral, Workspace

log = logging.getLogger(__name__)
NOT_RELEVANT = "marked it not relevant"
WAITING_PLACE = "App Home (Needs attention)"


@dataclass
class FocusReport:
    cards: int = 0
    people: int = 0  # people who got at least one card in this pass
    waiting: int = 0  # clients still waiting for a card after this pass
    dropped: int = 0  # nudges that no longer applied when their turn came


def day_of(now: datetime, tz: ZoneInfo) -> str:
    """The workday a card belongs to: the date in the workspace's timezone."""
    return now.astimezone(tz).date().isoformat()


def fatigue_counts(history: Iterable[tuple[int, str, datetime, str | None, datetime | None]], day: str,
                   now: datetime) -> dict[int, tuple[int, int]]:
    """(cards marked not relevant, cards ignored) per client. Ignored: left open past its own day."""
    counts: dict[int, tuple[int, int]] = {}
    for client_id, card_day, created_at, action, closed_at in history:
        not_relevant, ignored = counts.get(client_id, (0, 0))
        if action == NOT_RELEVANT and closed_at is not None and now - closed_at <= ranking.NOT_RELEVANT_WINDOW:
            not_relevant += 1
        elif closed_at is None and card_day < day and now - created_at <= ranking.IGNORED_WINDOW:
            ignored += 1
        counts[client_id] = (not_relevant, ignored)
    return counts


def candidates(rows: Iterable[WaitingRow], fatigue: dict[int, tuple[int, int]]) -> Iterator[Candidate]:
    """Group streamed rows (in client order) into one candidate per client."""
    current: list[WaitingRow] = []
    for row in rows:
        if current and row.client_id != current[0].client_id:
            yield _candidate(current, fatigue)
            current = []
        current.append(row)
    if current:
        yield _candidate(current, fatigue)


def _candidate(rows: list[WaitingRow], fatigue: dict[int, tuple[int, int]]) -> Candidate:
    first = rows[0]
    not_relevant, ignored = fatigue.get(first.client_id, (0, 0))
    return Candidate(first.client_id, first.value, tuple(Reason(r.kind, r.due_at, r.planned_at) for r in rows),
                     not_relevant, ignored)


@dataclass(frozen=True)
class Scale:
    """What ranking needs to know about a workspace, read once per pass."""

    tz: ZoneInfo
    workdays: frozenset[int]
    values: list[int]  # every value set, ascending
    median: float


def scale_of(session: Session, workspace: Workspace, default_tz: ZoneInfo, workdays: frozenset[int]) -> Scale:
    values = workspace_values(session, workspace.id)
    return Scale(tz_of(workspace, default_tz), workdays, values, ranking.value_median(values))


def ranked_waiting(session: Session, workspace_id: int, owner_id: str | None, now: datetime, scale: Scale,
                   fatigue: dict[int, tuple[int, int]] | None = None) -> Iterator[Ranked]:
    """Every waiting client (one person's, or the workspace's), ranked one at a time: callers keep top-k."""
    day = day_of(now, scale.tz)
    if fatigue is None:
        fatigue = fatigue_counts(card_history(session, workspace_id, owner_id, now - ranking.NOT_RELEVANT_WINDOW)
                                 if owner_id else [], day, now)
    rows = waiting_rows(session, workspace_id, owner_id, now, day)
    for candidate in candidates(rows, fatigue):
        yield ranking.rank(candidate, scale.median, now, scale.tz, scale.workdays)


def top(ranked: Iterable[Ranked], k: int, skip: frozenset[int] | set[int] = frozenset()
        ) -> tuple[list[Ranked], int]:
    """The k first in the day's order, and how many there were in all (memory: k, not the whole list)."""
    total = 0

    def counted() -> Iterator[Ranked]:
        nonlocal total
        for item in ranked:
            if item.candidate.client_id in skip:
                continue
            total += 1
            yield item

    best = heapq.nsmallest(k, counted(), key=Ranked.order)
    return best, total


def select(sessions: sessionmaker[Session], now: datetime, settings: Settings, workspaces: Iterable[Workspace],
           *, stop: Callable[[], bool] = lambda: False) -> FocusReport:
    """Choose today's cards for everyone with something waiting, in the given workspaces (those inside their
    business hours). Each person in a transaction of their own."""
    report = FocusReport()
    for workspace in workspaces:
        with sessions() as session:
            scale = scale_of(session, workspace, settings.tz, settings.business_hours.days)
            day = day_of(now, scale.tz)
            owners = owners_waiting(session, workspace.id, now, day)
        for owner in owners:
            if stop():
                return report
            with sessions.begin() as session:
                chosen, waiting = _select_for(session, workspace.id, owner, now, day, scale, settings.daily_focus,
                                              report)
            report.cards += chosen
            report.people += chosen > 0
            report.waiting += waiting
    return report


def _select_for(session: Session, workspace_id: int, owner: str, now: datetime, day: str, scale: Scale,
                budget: int, report: FocusReport) -> tuple[int, int]:
    focus_day = lock_focus_day(session, workspace_id, owner, day)
    remaining = budget - focus_day.shown
    if remaining <= 0:
        return 0, focus_day.waiting
    fatigue = fatigue_counts(card_history(session, workspace_id, owner, now - ranking.NOT_RELEVANT_WINDOW), day, now)
    chosen: list[tuple[Ranked, Card]] = []
    examined: set[int] = set()
    k, total, gone = 2 * remaining + 5, 0, 0
    while len(chosen) < remaining:
        best, total_now = top(ranked_waiting(session, workspace_id, owner, now, scale, fatigue), k, examined)
        total = max(total, total_now + len(examined))
        for ranked in best:
            if len(chosen) >= remaining:
                break
            examined.add(ranked.candidate.client_id)
            card = _card_for(session, workspace_id, owner, day, now, ranked, scale, report)
            if card is None:
                gone += 1
            else:
                chosen.append((ranked, card))
        if total_now <= len(best):
            break  # everyone waiting was looked at
        k *= 4
    waiting = max(0, total - gone - len(chosen))
    if chosen and waiting:
        previous = previous_focus_day(session, workspace_id, owner, day)
        backlog_begins = focus_day.shown == 0 and (previous is None or previous.waiting == 0)
        chosen[0][1].note = backlog_note(len(chosen), waiting, budget, backlog_begins)
    focus_day.shown += len(chosen)
    focus_day.waiting = waiting
    return len(chosen), waiting


def backlog_note(shown: int, waiting: int, budget: int, first_day: bool) -> str:
    """What the day's first card says about the rest; the first day of a backlog says it in full."""
    if first_day:
        return (f"{shown + waiting} of your clients are due for attention. These {shown} matter most today; "
                f"the other {waiting} wait, ranked, in {WAITING_PLACE}, and Rapport brings up at most {budget} "
                "a workday.")
    return f"{waiting} more waiting, ranked, in {WAITING_PLACE}."


def _card_for(session: Session, workspace_id: int, owner: str, day: str, now: datetime, ranked: Ranked,
              scale: Scale, report: FocusReport) -> Card | None:
    """A card for this client with every reason that still applies, or None (all of them lapsed)."""
    client = session.get(Client, ranked.candidate.client_id)
    relevant = []
    for nudge in waiting_nudges_of(session, ranked.candidate.client_id):
        referral = session.get(Referral, nudge.referral_id) if nudge.referral_id else None
        verdict = relevance(nudge, client, referral, now)
        if verdict == "drop":
            nudge.status, nudge.last_error = "dropped", "no longer applies"
            report.dropped += 1
        elif verdict == "send":
            relevant.append(nudge)
    if not relevant or client is None:
        return None
    card = Card(workspace_id=workspace_id, client_id=client.id, owner_id=owner, day=day, created_at=now,
                score=ranked.score, why=ranking.explain(ranked, scale.values, now))
    try:
        with session.begin_nested():
            session.add(card)
            session.flush()
    except IntegrityError:  # carded today already (its owner changed since, and the other selection won)
        log.info("client %s already has a card today", client.id)
        return None
    for nudge in relevant:
        nudge.card_id = card.id
    return card
