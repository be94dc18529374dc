"""What the weekly digest says (PRODUCT.md §4.7), for every destination at once.

Every section is counted, zeros too (the digest opens with those counts). Then each client is listed once, in the
list of its worst reason (warning signs before no reply before … before a referrer to thank), with what happened
and its one next step, worst first within each list: the longest silence, the most warning signs. Lists are cut at
a few names; their counts stay whole.

Worked out over the workspace's clients in chunks, each read in a short transaction of its own (PRODUCT.md §7:
no lock held for long, memory bounded whatever the size of the portfolio): per destination and list only the
counts and the first few are kept.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
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
from bot.when import Days, end_of_week
from storage.clients import client_names, clients_page, routes_of
from storage.commitments import workspace_commitments
from storage.db import reading
from storage.focus import carded_between, touched_within
from storage.handoffs import referrers_since
from storage.models import Client, Commitment, Workspace
from storage.referrals import open_referral_counts
from storage.signs import clients_with_warning_signs

# The counts, in the same order every week (PRODUCT.md §4.7), as they read in the digest's first block
QUIET, NO_REPLY, CHECKINS, THANKS = "Gone quiet", "No reply", "Check-ins due this week", "Referrers to thank"
SIGNS, FORMER, PROMISES, ISSUES = "2+ warning signs", "Former clients due", "Promises due this week", "Open issues"
WAITING = "Waiting their turn"
SECTIONS = (QUIET, NO_REPLY, CHECKINS, THANKS, SIGNS, FORMER, PROMISES, ISSUES, WAITING)
# The lists, worst first: a client is listed once, under the first of these it belongs to
LISTS = (SIGNS, NO_REPLY, PROMISES, ISSUES, QUIET, CHECKINS, THANKS, FORMER, WAITING)
ALSO = {SIGNS: "warning signs", NO_REPLY: "no reply", PROMISES: "a promise due", ISSUES: "an open issue",
        QUIET: "gone quiet", CHECKINS: "a check-in due", THANKS: "a referrer to thank", FORMER: "a former client due"}
# nudge kinds the lists above already show: a client waiting only for these is not listed again under WAITING
LISTED_KINDS = frozenset({"at_risk", "unanswered", "promise", "issue", "eta", "quiet", "checkin", "thank", "winback"})
SHOWN = 5  # clients per list; the count is always the full number
HEALTH_SHOWN = 3  # the deepest and shallowest relationships
CHUNK = 2000
CURRENT = ("active", "prospect", "paused")
ACTION_WINDOW = timedelta(days=7)
UTC_ZONE = ZoneInfo("UTC")
WHAT_SHOWN = 60  # of a promise's or an issue's words
REFERRAL_YEAR = timedelta(days=365)  # the referral channel (PRODUCT.md §4.14): active clients who referred since


class _Kept:
    """A list's count, and its first `shown` items by a sort key (smallest first: the worst)."""

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


@dataclass
class _Owed:
    """A client's promises due this week and open issues: the worst of each, and how many."""

    promise: tuple[tuple[Any, ...], str] | None = None  # (sort key, what is said)
    promises: int = 0
    issue: tuple[tuple[Any, ...], str] | None = None
    issues: int = 0


@dataclass
class _Reasons:
    """Why one client is in the digest: per list, its sort key, what happened and the next step."""

    found: dict[str, tuple[tuple[Any, ...], str, str]] = field(default_factory=dict)

    def add(self, title: str, key: tuple[Any, ...], detail: str, todo: str) -> None:
        self.found[title] = (key, detail, todo)


def _item(client_id: int, name: str, detail: str, todo: str, also: list[str]) -> dict[str, Any]:
    return {"id": client_id, "name": name, "detail": detail, "next": todo, "also": also}


class _Target:
    """One destination's digest, as clients stream past."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(SECTIONS, 0)
        self.lists: dict[str, _Kept] = {title: _Kept() for title in LISTS if title != WAITING}
        self.health: dict[str, int] = {label: 0 for label in RANK}
        self.deepest, self.shallowest = _Kept(HEALTH_SHOWN), _Kept(HEALTH_SHOWN, largest=True)
        self.waiting = TopK(SHOWN + SHOWN * len(LISTS))  # room for those already listed above, left out below
        self.owed: dict[int, _Owed] = {}
        self.active = self.referring = 0

    def owe(self, commitment: Commitment, client: Client, days: Days, today: date, week_ends: date) -> None:
        """An open promise due this week (late ones included), or an open issue (PRODUCT.md §4.10)."""
        what = b.clip(commitment.what, WHAT_SHOWN)
        owed = self.owed.setdefault(client.id, _Owed())
        if commitment.kind == "promise" and commitment.due_on is not None:
            if commitment.due_on < week_ends:
                self.counts[PROMISES] += 1
                owed.promises += 1
                when = f"late since {days(commitment.due_on)}" if commitment.due_on < today else \
                    f"due {days(commitment.due_on)}"
                key = (commitment.due_on, commitment.id)
                if owed.promise is None or key < owed.promise[0]:
                    owed.promise = (key, f"{what}, {when}")
        elif commitment.kind == "issue":
            self.counts[ISSUES] += 1
            owed.issues += 1
            since = commitment.update_since or commitment.created_at
            detail = f"{what}, open since {days(since)}, no news yet" if since <= commitment.created_at else \
                f"{what}, no news since {days(since)}"
            if commitment.due_on is not None and commitment.due_on < today:
                detail += f"; the estimate, {days(commitment.due_on)}, has passed"
            key = (since, commitment.id)
            if owed.issue is None or key < owed.issue[0]:
                owed.issue = (key, detail)

    def add(self, client: Client, health: Health | None, now: datetime, days: Days, week_ends: datetime,
            thanks: int, signs: int, referred: bool = False) -> None:
        if client.status == "active":
            self.active += 1
            self.referring += referred
        current = client.status in CURRENT
        name = client.name_key
        found = _Reasons()
        if current and signs:
            found.add(SIGNS, (-signs, name), f"{signs} warning signs in 30 days", "ask for an honest conversation")
        if current and client.status != "paused":
            if is_unanswered(client, now) and client.unanswered_since is not None:
                found.add(NO_REPLY, (-client.unanswered_count, client.unanswered_since, name),
                          f"no reply to {client.unanswered_count} touches since {days(client.unanswered_since)}",
                          "call, or ask for a short meeting")
            if is_quiet(client, now):
                silent = silent_days(client, now)
                heard = f"no word from them since {days(client.last_their_contact_at)}, {silent} days" \
                    if client.last_their_contact_at else f"nothing from them in {silent} days"
                found.add(QUIET, (-silent, name), heard, "give them a call, or send something useful")
            due = next_checkin(client)
            if due is not None and due < week_ends:
                late = due < now
                found.add(CHECKINS, (due, name), f"late: due {days(due)}" if late else f"due {days(due)}",
                          "ask how they feel about everything")
        owed = self.owed.pop(client.id, None)
        if current and owed is not None:
            if owed.promise is not None:
                more = f" (+{owed.promises - 1} more)" if owed.promises > 1 else ""
                found.add(PROMISES, owed.promise[0], owed.promise[1] + more, "deliver it, or say where it stands")
            if owed.issue is not None:
                more = f" (+{owed.issues - 1} more)" if owed.issues > 1 else ""
                found.add(ISSUES, owed.issue[0], owed.issue[1] + more, "send a status update")
        if thanks:
            found.add(THANKS, (-thanks, name), f"{thanks} referral{'s' if thanks != 1 else ''} to thank",
                      "send a short note of thanks")
        if client.status == "former" and client.next_winback_at and client.next_winback_at < week_ends:
            first = client.winback_nudges == 0
            found.add(FORMER, (client.next_winback_at, name),
                      f"a former client since {days(client.ended_at)}" if client.ended_at else "a former client",
                      "ask for honest feedback" if first else "send something useful, no pitch")
        for title in found.found:
            if title not in (PROMISES, ISSUES):  # counted per promise and issue, in owe()
                self.counts[title] += 1
        worst = next((title for title in LISTS if title in found.found), None)
        if worst is not None:
            key, detail, todo = found.found[worst]
            also = [ALSO[title] for title in LISTS if title in found.found and title != worst]
            self.lists[worst].add(key, _item(client.id, client.name, detail, todo, also))
        if current and health is not None:
            self.health[health.label] += 1
            order = (RANK[health.label], -health.met, client.name_key)
            kept = self.deepest if health.label in ("Deep", "Steady") else self.shallowest
            kept.add(order, {"id": client.id, "name": client.name, "detail": health.label})

    def facts(self, now: datetime, names: dict[int, str]) -> dict[str, Any]:
        lists: list[dict[str, Any]] = [{"title": title, "count": kept.count, "items": kept.items()}
                                       for title, kept in self.lists.items()]
        listed = {item["id"] for entry in lists for item in entry["items"]}
        waiting: list[dict[str, Any]] = []
        for ranked in self.waiting.best():
            client_id = ranked.candidate.client_id
            kinds = {r.kind for r in ranked.candidate.reasons}
            if client_id in listed or kinds <= LISTED_KINDS or len(waiting) >= SHOWN:
                continue
            waited = f", waiting {ranked.waited} workdays" if ranked.waited else ""
            waiting.append(_item(client_id, names.get(client_id, "?"),
                                 ranking.PHRASES.get(ranked.top.kind, ranked.top.kind) + waited,
                                 "see App Home, Needs attention", []))
        self.counts[WAITING] = self.waiting.count
        return {"counts": self.counts, "lists": [*lists, {"title": WAITING, "count": self.waiting.count,
                                                           "items": waiting}],
                "health": self.health, "deepest": self.deepest.items(), "shallowest": self.shallowest.items()}


def sections_by_target(sessions: sessionmaker[Session], workspace: Workspace, now: datetime,
                       route: Callable[[str | None, str], str], targets: list[str],
                       scale: Scale, tz: ZoneInfo = UTC_ZONE) -> dict[str, dict[str, Any]]:
    """Each destination's counts and lists, and last week's action rate for the clients routed there. `route`
    maps a client's (channel, owner) to its destination."""
    found: dict[str, _Target] = defaultdict(_Target)
    for target in targets:
        found[target]
    days = Days.at(now, tz)
    week_ends = end_of_week(now, tz)
    today = now.astimezone(tz).date()
    with reading(sessions) as session:
        signs = clients_with_warning_signs(session, workspace.id, WARNING_SIGNS, warning_window_start(now),
                                           rules.AT_RISK_SIGNS)
        thanks = open_referral_counts(session, workspace.id)
        referrers = referrers_since(session, workspace.id, now - REFERRAL_YEAR)
        for commitment, client in workspace_commitments(session, workspace.id):
            if client.status in CURRENT:
                found[route(client.channel_id, client.owner_id)].owe(commitment, client, days, today,
                                                                     week_ends.date())
    after = 0
    while True:
        with reading(sessions) as session:
            chunk = clients_page(session, workspace.id, after, CHUNK)
            if not chunk:
                break
            health = health_of(session, [c for c in chunk if c.status in CURRENT], now)
        after = chunk[-1].id
        for client in chunk:
            found[route(client.channel_id, client.owner_id)].add(client, health.get(client.id), now, days, week_ends,
                                                                thanks.get(client.id, 0), signs.get(client.id, 0),
                                                                client.id in referrers)
    for ranked, row in ranked_pages(sessions, workspace.id, now, scale):  # as the App Home's list ranks them
        found[route(row.channel_id, row.owner_id)].waiting.push(ranked)
    with reading(sessions) as session:
        shown = {r.candidate.client_id for t in found.values() for r in t.waiting.best()}
        names = client_names(session, shown)
        rates = _action_rates(session, workspace, now, route)
    return {target: {**digest.facts(now, names), "action_rate": list(rates.get(target, (0, 0))),
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
