"""What the weekly digest says (PRODUCT.md §4.7), for every destination at once.

Worked out over the workspace's clients in chunks, each read in a short transaction of its own (PRODUCT.md §7:
no lock held for long, memory bounded whatever the size of the portfolio): per destination and section only
the count and the first few names are kept.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.nudges import ranking, rules
from bot.nudges.focus import Scale, TopK, ranked_pages
from bot.relationship.facts import is_quiet, is_unanswered, next_checkin, silent_days, warning_window_start
from bot.relationship.health import RANK, Health
from bot.relationship.health_data import health_of
from bot.relationship.kinds import WARNING_SIGNS
from bot.slack import blocks as b
from storage.commitments import workspace_commitments
from storage.db import reading
from storage.focus import carded_between, touched_within
from storage.handoffs import referrers_since
from storage.models import Client, Commitment, Workspace
from storage.queries import client_names, clients_page, clients_with_warning_signs, open_referral_counts, routes_of

SHOWN = 10  # names per section; the count is always the full number
HEALTH_SHOWN = 3  # the deepest and shallowest relationships
CHUNK = 2000
CURRENT = ("active", "prospect", "paused")
ACTION_WINDOW = timedelta(days=7)
UTC_ZONE = ZoneInfo("UTC")
WHAT_SHOWN = 80  # of a promise's or an issue's words
REFERRAL_YEAR = timedelta(days=365)  # the referral channel (PRODUCT.md §4.14): active clients who referred since


class _Kept:
    """A section's count, and its first `shown` items by a sort key (or its last, with `largest`)."""

    def __init__(self, shown: int = SHOWN, largest: bool = False) -> None:
        self.count = 0
        self.shown, self.largest = shown, largest
        self._heap: list[_Entry] = []

    def add(self, key: tuple[Any, ...], item: dict[str, Any]) -> None:
        self.count += 1
        entry = _Entry(key, item, self.largest)
        if len(self._heap) < self.shown:
            heapq.heappush(self._heap, entry)
        elif self._heap[0] < entry:
            heapq.heapreplace(self._heap, entry)

    def items(self) -> list[dict[str, Any]]:
        ordered = sorted(self._heap, key=lambda e: e.key, reverse=self.largest)
        return [e.item for e in ordered]


class _Entry:
    """Heap order: the entry to drop first sits at the root."""

    __slots__ = ("item", "key", "largest")

    def __init__(self, key: tuple[Any, ...], item: dict[str, Any], largest: bool) -> None:
        self.key, self.item, self.largest = key, item, largest

    def __lt__(self, other: _Entry) -> bool:
        return self.key < other.key if self.largest else self.key > other.key


def _item(client: Client, detail: str) -> dict[str, Any]:
    return {"id": client.id, "name": client.name, "detail": detail}


class _Target:
    """One destination's digest, as clients stream past."""

    def __init__(self) -> None:
        self.quiet, self.unanswered, self.checkins = _Kept(), _Kept(), _Kept()
        self.thanks, self.at_risk, self.former = _Kept(), _Kept(), _Kept()
        self.deepest, self.shallowest = _Kept(HEALTH_SHOWN), _Kept(HEALTH_SHOWN, largest=True)
        self.waiting = TopK(SHOWN)
        self.promises, self.issues = _Kept(), _Kept()
        self.active = self.referring = 0

    def owed(self, commitment: Commitment, client: Client, today: date, tz: ZoneInfo) -> None:
        """An open promise due within the week (or overdue), or an open issue (PRODUCT.md §4.10)."""
        what = b.clip(commitment.what, WHAT_SHOWN)
        if commitment.kind == "promise" and commitment.due_on is not None:
            if commitment.due_on <= today + timedelta(days=7):
                late = (today - commitment.due_on).days
                when = f"overdue by {late} day{'s' if late > 1 else ''}" if late > 0 else \
                    f"due {commitment.due_on:%a %d %b}"
                self.promises.add((commitment.due_on, commitment.id), _item(client, f"{what} · {when}"))
        elif commitment.kind == "issue":
            opened = commitment.created_at.astimezone(tz)
            since = (commitment.update_since or commitment.created_at).astimezone(tz)
            news = "no update yet" if since <= opened else f"last update {since:%a %d %b}"
            detail = f"{what} · open since {opened:%a %d %b}, {news}"
            if commitment.due_on is not None:
                detail += f", estimate {commitment.due_on:%a %d %b}" + (" passed" if commitment.due_on < today else "")
            self.issues.add((since, commitment.id), _item(client, detail))

    def add(self, client: Client, health: Health | None, now: datetime, thanks: int, risky: bool,
            referred: bool = False) -> None:
        key = (client.name_key,)
        if client.status == "active":
            self.active += 1
            self.referring += referred
        week = now + timedelta(days=7)
        current = client.status in CURRENT
        if current and client.status != "paused":
            if is_quiet(client, now):
                self.quiet.add(key, _item(client, f"silent {silent_days(client, now)} days"))
            if is_unanswered(client, now):
                self.unanswered.add(key, _item(client, f"{client.unanswered_count} touches unanswered"))
            due = next_checkin(client)
            if due is not None and due <= week:
                self.checkins.add(key, _item(client, f"due {due:%a %d %b}"))
        if thanks:
            self.thanks.add(key, _item(client, f"{thanks} to thank"))
        if current and risky:
            self.at_risk.add(key, _item(client, "2+ warning signs in 30 days"))
        if client.status == "former" and client.next_winback_at and client.next_winback_at <= week:
            self.former.add(key, _item(client, "feedback ask" if client.winback_nudges == 0 else "soft touch"))
        if current and health is not None:
            order = (RANK[health.label], -health.met, client.name_key)
            kept = self.deepest if health.label in ("Deep", "Steady") else self.shallowest
            kept.add(order, _item(client, health.label))

    def sections(self, now: datetime, names: dict[int, str]) -> list[dict[str, Any]]:
        waiting = [{"id": r.candidate.client_id, "name": names.get(r.candidate.client_id, "?"),
                    "detail": ranking.reasons_phrase(r, now) + (f", waiting {r.waited} workdays" if r.waited else "")}
                   for r in self.waiting.best()]
        return [
            _section("Gone quiet", self.quiet), _section("Unanswered", self.unanswered),
            _section("Check-ins due this week", self.checkins), _section("Referrers to thank", self.thanks),
            _section("At risk", self.at_risk), _section("Former clients due", self.former),
            _section("Promises due this week", self.promises), _section("Open issues", self.issues),
            {"title": "Waiting for a card", "count": self.waiting.count, "items": waiting},
            {"title": "Deepest relationships", "count": len(self.deepest.items()), "items": self.deepest.items()},
            {"title": "Shallowest relationships", "count": len(self.shallowest.items()),
             "items": self.shallowest.items()},
        ]


def _section(title: str, kept: _Kept) -> dict[str, Any]:
    return {"title": title, "count": kept.count, "items": kept.items()}


def sections_by_target(sessions: sessionmaker[Session], workspace: Workspace, now: datetime,
                       route: Callable[[str | None, str], str], targets: list[str],
                       scale: Scale, tz: ZoneInfo = UTC_ZONE) -> dict[str, dict[str, Any]]:
    """Each destination's sections, and last week's action rate for the clients routed there. `route` maps a
    client's (channel, owner) to its destination."""
    found: dict[str, _Target] = defaultdict(_Target)
    for target in targets:
        found[target]
    with reading(sessions) as session:
        risky = clients_with_warning_signs(session, workspace.id, WARNING_SIGNS, warning_window_start(now),
                                           rules.AT_RISK_SIGNS)
        thanks = open_referral_counts(session, workspace.id)
        referrers = referrers_since(session, workspace.id, now - REFERRAL_YEAR)
        today = now.astimezone(tz).date()
        for commitment, client in workspace_commitments(session, workspace.id):
            if client.status in CURRENT:
                found[route(client.channel_id, client.owner_id)].owed(commitment, client, today, tz)
    after = 0
    while True:
        with reading(sessions) as session:
            chunk = clients_page(session, workspace.id, after, CHUNK)
            if not chunk:
                break
            health = health_of(session, [c for c in chunk if c.status in CURRENT], now)
        after = chunk[-1].id
        for client in chunk:
            found[route(client.channel_id, client.owner_id)].add(client, health.get(client.id), now,
                                                                thanks.get(client.id, 0), client.id in risky,
                                                                client.id in referrers)
    for ranked, row in ranked_pages(sessions, workspace.id, now, scale):  # as the App Home's list ranks them
        found[route(row.channel_id, row.owner_id)].waiting.push(ranked)
    with reading(sessions) as session:
        shown = {r.candidate.client_id for t in found.values() for r in t.waiting.best()}
        names = client_names(session, shown)
        rates = _action_rates(session, workspace, now, route)
    return {target: {"sections": digest.sections(now, names), "action_rate": list(rates.get(target, (0, 0))),
                     "referral_channel": [digest.referring, digest.active]}
            for target, digest in found.items()}


def _action_rates(session: Session, workspace: Workspace, now: datetime,
                  route: Callable[[str | None, str], str]) -> dict[str, tuple[int, int]]:
    """Per destination, (clients carded last week, those of them with a touch logged within 7 days)."""
    first = carded_between(session, workspace.id, now - ACTION_WINDOW, now)
    acted = touched_within(session, first, ACTION_WINDOW)
    routes = routes_of(session, list(first))
    rates: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for client_id in first:
        if client_id in routes:
            rate = rates[route(*routes[client_id])]
            rate[0] += 1
            rate[1] += client_id in acted
    return {target: (n, a) for target, (n, a) in rates.items()}
