"""Focus (PRODUCT.md §4.8): each workday each person hears about at most RAPPORT_DAILY_FOCUS clients, the ones
that matter most, on one card per client with every reason due for it. What is not chosen waits, ranked, in
App Home and the digest, and competes again the next workday.

Selection runs per person in a short transaction that locks that person's row for the day (FocusDay), so
sweeps racing in several processes never show anyone more than the budget; the unique (client, day) key on
cards keeps a client to one card a day.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.nudges import ranking
from bot.nudges.pace import pace_of
from bot.nudges.ranking import Candidate, Ranked, Reason, Workweek
from bot.nudges.relevance import relevance
from bot.settings import BusinessHours, Settings
from bot.workspaces import tz_of
from storage.db import reading
from storage.focus import (
    WaitingRow,
    card_history,
    focus_days_on,
    lock_focus_day,
    previous_focus_day,
    waiting_for,
    waiting_rows,
    workspace_values,
)
from storage.models import Card, Nudge, Workspace
from storage.paces import paces_of

log = logging.getLogger(__name__)
NOT_RELEVANT = "marked it not relevant"
SLACK = 2  # candidates kept per person: twice the budget and two more, for reasons that lapsed since planning
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


def candidates(rows: Iterable[WaitingRow], fatigue: dict[int, tuple[int, int]]
               ) -> Iterator[tuple[Candidate, WaitingRow]]:
    """Group streamed rows (in client order) into one candidate per client, with its first row (owner, channel)."""
    current: list[WaitingRow] = []
    for row in rows:
        if current and row.client_id != current[0].client_id:
            yield _candidate(current, fatigue), current[0]
            current = []
        current.append(row)
    if current:
        yield _candidate(current, fatigue), current[0]


def _candidate(rows: list[WaitingRow], fatigue: dict[int, tuple[int, int]]) -> Candidate:
    first = rows[0]
    not_relevant, ignored = fatigue.get(first.client_id, (0, 0))
    return Candidate(first.client_id, first.value, tuple(Reason(r.kind, r.due_at, r.planned_at) for r in rows),
                     not_relevant, ignored)


class TopK:
    """The k first in the day's order, kept while streaming: memory is k, not the number waiting."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.count = 0
        self._heap: list[tuple[tuple[float, ...], Ranked]] = []  # keys negated: the root is the worst kept

    def push(self, ranked: Ranked) -> None:
        self.count += 1
        entry = (tuple(-part for part in ranked.order()), ranked)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        elif entry[0] > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def best(self) -> list[Ranked]:
        return [ranked for _, ranked in sorted(self._heap, key=lambda e: e[0], reverse=True)]


@dataclass(frozen=True)
class Scale:
    """What ranking needs to know about a workspace, read once per pass."""

    week: Workweek
    values: list[int]  # every value set, ascending
    median: float

    @property
    def tz(self) -> ZoneInfo:
        return self.week.tz


def scale_of(session: Session, workspace: Workspace, default_tz: ZoneInfo, hours: BusinessHours) -> Scale:
    values = workspace_values(session, workspace.id)
    week = Workweek(tz_of(workspace, default_tz), hours.days, hours.end)
    return Scale(week, values, ranking.value_median(values))


def ranked_waiting(session: Session, workspace_id: int, owner_id: str | None, now: datetime, scale: Scale,
                   ) -> Iterator[Ranked]:
    """Every waiting client (one person's, or the workspace's), ranked one at a time: callers keep top-k."""
    for ranked, _ in ranked_rows(session, workspace_id, owner_id, now, scale):
        yield ranked


def ranked_rows(session: Session, workspace_id: int, owner_id: str | None, now: datetime, scale: Scale,
                 skip_owners: Iterable[str] = ()) -> Iterator[tuple[Ranked, WaitingRow]]:
    day = day_of(now, scale.tz)
    history = card_history(session, workspace_id, owner_id, now - ranking.NOT_RELEVANT_WINDOW)
    rows = waiting_rows(session, workspace_id, owner_id, now, day, skip_owners=skip_owners)
    for candidate, row in candidates(rows, fatigue_counts(history, day, now)):
        yield ranking.rank(candidate, scale.median, now, scale.week), row


PAGE = 5000  # waiting rows per read transaction in a workspace-wide pass


def ranked_pages(sessions: sessionmaker[Session], workspace_id: int, now: datetime, scale: Scale,
                 skip_owners: Iterable[str] = ()) -> Iterator[tuple[Ranked, WaitingRow]]:
    """Every waiting client of a workspace, ranked, read in pages of short read-only transactions (a page
    ends at a client boundary, so a client's reasons are never split)."""
    day = day_of(now, scale.tz)
    skip = list(skip_owners)
    with reading(sessions) as session:
        fatigue = fatigue_counts(card_history(session, workspace_id, None, now - ranking.NOT_RELEVANT_WINDOW),
                                 day, now)
    after = 0
    while True:
        with reading(sessions) as session:
            rows = list(waiting_rows(session, workspace_id, None, now, day, skip_owners=skip, after_client=after,
                                     limit=PAGE))
        if not rows:
            return
        if len(rows) == PAGE and rows[0].client_id != rows[-1].client_id:
            last = rows[-1].client_id
            rows = [r for r in rows if r.client_id != last]  # its other rows may be on the next page
        for candidate, row in candidates(rows, fatigue):
            yield ranking.rank(candidate, scale.median, now, scale.week), row
        after = rows[-1].client_id


def top(ranked: Iterable[Ranked], k: int) -> tuple[list[Ranked], int]:
    """The k first in the day's order, and how many there were in all."""
    kept = TopK(k)
    for item in ranked:
        kept.push(item)
    return kept.best(), kept.count


def select(sessions: sessionmaker[Session], now: datetime, settings: Settings, workspaces: Iterable[Workspace],
           *, stop: Callable[[], bool] = lambda: False,
           ours: Callable[[Session, int], bool] = lambda _session, _id: True) -> FocusReport:
    """Choose today's cards for everyone with something waiting, in the given workspaces (those inside their
    business hours), each at their own pace (bot/nudges/pace.py).

    One streamed pass over a workspace's waiting nudges ranks every client and keeps each person's top few;
    then each person's cards are made in a transaction of their own, under the lock on their day, where every
    chosen client is checked again (another sweep may have carded it meanwhile). People whose budget is spent
    are left out of the pass, so later sweeps of the day cost almost nothing. `ours`: whether this process
    chooses a workspace's cards in this pass (another process sweeping the same pass may be choosing them)."""
    report = FocusReport()
    cap = settings.daily_focus
    sweep = timedelta(minutes=settings.sweep_minutes)
    for workspace in workspaces:
        with sessions.begin() as session:
            if not ours(session, workspace.id):
                continue
        with reading(sessions) as session:
            scale = scale_of(session, workspace, settings.tz, settings.business_hours)
            day = day_of(now, scale.tz)
            spent = focus_days_on(session, workspace.id, day)
            paces = {user: pace_of(row, cap, scale.tz) for user, row in paces_of(session, workspace.id).items()}
        budgets = {user: pace.cards for user, pace in paces.items()}
        budget_of = budgets.get

        # each person's own pace (PRODUCT.md §4.8): their budget spent, paused, or their hour not come yet today;
        # what waits for them is not touched, and competes again when their cards come
        done = {owner: waiting for owner, (shown, waiting) in spent.items() if shown >= budget_of(owner, cap)}
        held = [owner for owner, pace in paces.items()
                if owner not in done and pace.waits(now, settings.business_hours, scale.tz, sweep)]
        report.waiting += sum(done.values())
        kept: dict[str, TopK] = {}
        for ranked, row in ranked_pages(sessions, workspace.id, now, scale, skip_owners=[*done, *held]):
            kept.setdefault(row.owner_id, TopK(SLACK * budget_of(row.owner_id, cap) + SLACK)).push(ranked)
        for owner, best in sorted(kept.items()):
            if stop():
                return report
            try:
                with sessions.begin() as session:
                    chosen, waiting = _select_for(session, workspace.id, owner, now, day, scale, budget_of(owner, cap),
                                                  best, report)
            except IntegrityError:
                # a client of theirs was carded at this moment by a sweep choosing for its previous owner (it
                # changed hands mid-sweep): that card stands, and the next sweep chooses this person's again
                log.info("focus for %s collided with another sweep; next sweep chooses again", owner)
                continue
            report.cards += chosen
            report.people += chosen > 0
            report.waiting += waiting
    return report


def _select_for(session: Session, workspace_id: int, owner: str, now: datetime, day: str, scale: Scale,
                budget: int, best: TopK, report: FocusReport) -> tuple[int, int]:
    focus_day = lock_focus_day(session, workspace_id, owner, day)
    remaining = budget - focus_day.shown
    if remaining <= 0:
        return 0, focus_day.waiting
    chosen: list[Card] = []
    queue, total, gone = best.best(), best.count, 0
    while queue and len(chosen) < remaining:
        made, lapsed = _make_cards(session, workspace_id, owner, day, now, queue, remaining - len(chosen), scale,
                                   report)
        chosen += made
        gone += lapsed
        if len(chosen) >= remaining or total <= gone + len(chosen):
            break
        # more had lapsed than the slack allowed for: rank this person's waiting clients again, without them
        queue, still = top(ranked_waiting(session, workspace_id, owner, now, scale), SLACK * remaining + SLACK)
        total = still + gone + len(chosen)
    waiting = max(0, total - gone - len(chosen))
    if chosen and waiting:
        previous = previous_focus_day(session, workspace_id, owner, day)
        backlog_begins = focus_day.shown == 0 and (previous is None or previous.waiting == 0)
        chosen[0].note = backlog_note(len(chosen), waiting, budget, backlog_begins)
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


def _make_cards(session: Session, workspace_id: int, owner: str, day: str, now: datetime, queue: list[Ranked],
                want: int, scale: Scale, report: FocusReport) -> tuple[list[Card], int]:
    """Cards for the first `want` clients in the queue whose reasons still apply, each with every such reason;
    returns them and how many clients had nothing left that applied."""
    clients, nudges, about = waiting_for(session, [r.candidate.client_id for r in queue])
    made: list[tuple[Card, list[Nudge]]] = []
    gone = 0
    for ranked in queue:
        if len(made) >= want:
            break
        client = clients.get(ranked.candidate.client_id)
        relevant = []
        for nudge in nudges.get(ranked.candidate.client_id, []):
            verdict = relevance(nudge, client, about.referrals.get(nudge.referral_id or 0), now,
                                about.links.get(nudge.linked_channel_id or 0),
                                about.commitments.get(nudge.commitment_id or 0), about.goals.get(nudge.goal_id or 0))
            if verdict == "drop":
                nudge.status, nudge.last_error = "dropped", "no longer applies"
                report.dropped += 1
            elif verdict == "send":
                relevant.append(nudge)
        if not relevant or client is None:
            gone += 1  # carded meanwhile by another sweep, or nothing of it applies any more
            continue
        late = any(n.kind == "promise" and json.loads(n.facts).get("stage") == "late" for n in relevant)
        card = Card(workspace_id=workspace_id, client_id=client.id, owner_id=owner, day=day, created_at=now,
                    score=ranked.score, why=ranking.explain(ranked, scale.values, now, late_promise=late))
        session.add(card)
        made.append((card, relevant))
    session.flush()
    for card, relevant in made:
        for nudge in relevant:
            nudge.card_id = card.id
    return [card for card, _ in made], gone
