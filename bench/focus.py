"""Focus against posting everything due (PRODUCT.md §4.8): 90 workdays of a 2,000-client portfolio.

    python bench/focus.py              # both policies, two models of the person; appends to bench/RESULTS.md
    python bench/focus.py --days 20    # a shorter run

Each run starts from seed-demo's year of history (2,000 clients, 8 owners) and then, every workday:
  - new signals arrive: contacts from clients (0.8% of active clients), our unanswered emails (0.4%), a
    couple of clients turning at risk (two warning signs), a referral;
  - one sweep at 10:00 plans what is due, lets focus choose the day's cards (or, for "post everything", gives
    everyone an unlimited budget, so every due client is carded that day), and posts them to a fake Slack;
  - each owner works through their cards in the order they were posted, acting on each with a probability
    and logging the touch that deals with it (a call, a check-in, a thank-you).
Two models of the person, both reported: "steady" acts on each card with probability 0.6 however many came
that day; "fatigued" starts at 0.7 and each further card that day is 10% less likely to be acted on (the
direction of Ancker 2017's 30%-per-extra-reminder, much gentler).

Reported per policy: cards per person per workday (p50, p95, max), workdays from an at-risk signal to its first
card (p50, p95) and the share surfaced on its first workday, the longest a due client waited without a card,
the action rate (clients carded with a touch logged within 7 days), and the time per sweep spent planning and
choosing (focus must cost at most 1.5x planning, §7).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import select  # noqa: E402

from bot.bulk.demo import seed  # noqa: E402
from bot.database import open_database  # noqa: E402
from bot.nudges import focus  # noqa: E402
from bot.nudges.delivery import deliver  # noqa: E402
from bot.nudges.ranking import Workweek  # noqa: E402
from bot.nudges.sweep import _posters, delivery_client, plan_pass, worker_name  # noqa: E402
from bot.relationship.record import record_interaction  # noqa: E402
from bot.relationship.schedule import start_referral  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.caller import Context  # noqa: E402
from storage.models import Card, Client, Interaction, Nudge, Referral, Workspace  # noqa: E402
from storage.referrals import mark_referrals_thanked, open_referrals_from  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

CLIENTS, OWNERS = 2000, [f"U{i:03d}" for i in range(8)]
START = datetime(2027, 1, 4, 10, tzinfo=UTC)  # a Monday
UTC_ZONE = ZoneInfo("UTC")
WEEK = Workweek(UTC_ZONE, frozenset(range(5)), clock_time(17))
UNLIMITED = 100_000


@dataclass(frozen=True)
class Person:
    name: str
    first: float  # chance of acting on the day's first card
    decay: float  # each further card that day is this much as likely


PEOPLE = (Person("steady", 0.6, 1.0), Person("fatigued", 0.7, 0.9))


@dataclass
class Outcome:
    cards_per_day: list[int] = field(default_factory=list)  # per person per workday
    at_risk_delay: list[int] = field(default_factory=list)  # workdays from a new signal to its first card
    at_risk_backlog: list[int] = field(default_factory=list)  # the same for those already due on the first day
    longest_wait: int = 0
    carded: int = 0
    acted: int = 0
    plan_ms: list[float] = field(default_factory=list)
    choose_ms: list[float] = field(default_factory=list)
    initial_due: int = 0


def _workdays(days: int) -> list[datetime]:
    out, day = [], START
    while len(out) < days:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _signals(session, workspace_id: int, rng: random.Random, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """A workday's new signals, logged the way people log them."""
    active = list(session.scalars(select(Client).where(Client.workspace_id == workspace_id,
                                                       Client.status == "active")))
    ctx = Context(workspace_id, "USIM", now - timedelta(hours=2), lambda: UTC_ZONE, lambda: False)
    for client in rng.sample(active, int(len(active) * 0.008)):
        record_interaction(session, client, rng.choice(("call", "email", "meeting")), "in",
                           ctx.now - timedelta(hours=1), None, ctx.user_id, ctx.now)
    for client in rng.sample(active, int(len(active) * 0.004)):
        record_interaction(session, client, "email", "out", ctx.now - timedelta(hours=1), None, ctx.user_id, ctx.now)
    for client in rng.sample(active, 2):
        record_interaction(session, client, "cancel", "in", ctx.now - timedelta(hours=3), None, ctx.user_id, ctx.now)
        record_interaction(session, client, "complaint", "in", ctx.now - timedelta(hours=2), None, ctx.user_id, ctx.now)
    referrer, referred = rng.sample(active, 2)
    referral = Referral(workspace_id=workspace_id, referrer_id=referrer.id, referred_id=referred.id,
                        logged_by="USIM", created_at=ctx.now)
    start_referral(referral)
    session.add(referral)


def _act(session, workspace_id: int, person: Person, rng: random.Random, now: datetime, day: str,  # type: ignore[no-untyped-def]
         outcome: Outcome) -> None:
    """Each owner goes through the day's cards in the order they came."""
    cards = list(session.scalars(select(Card).where(Card.workspace_id == workspace_id, Card.day == day)
                                 .order_by(Card.id)))
    by_owner: dict[str, list[Card]] = defaultdict(list)
    for card in cards:
        by_owner[card.owner_id].append(card)
    for owner in OWNERS:
        outcome.cards_per_day.append(len(by_owner.get(owner, [])))
    ctx = Context(workspace_id, "USIM", now + timedelta(hours=2), lambda: UTC_ZONE, lambda: False)
    for owner_cards in by_owner.values():
        for position, card in enumerate(owner_cards):
            if rng.random() >= person.first * person.decay ** position:
                continue
            client = session.get(Client, card.client_id)
            kinds = set(session.scalars(select(Nudge.kind).where(Nudge.card_id == card.id)))
            if "thank" in kinds:
                thanks = open_referrals_from(session, workspace_id, client.id)
                mark_referrals_thanked(session, [r.id for r in thanks], "USIM", ctx.now)
            kind = "checkin" if "checkin" in kinds else "meeting" if "at_risk" in kinds else "call"
            record_interaction(session, client, kind, "both", ctx.now, None, ctx.user_id, ctx.now)


def run(policy: str, person: Person, days: int, seed_value: int = 7) -> Outcome:
    path = Path(tempfile.mkdtemp()) / f"focus-{policy}-{person.name}.db"
    base = Settings(database_url=f"sqlite:///{path}")
    database = open_database(base)
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="TSIM", enterprise_id="", created_at=START - timedelta(days=400))
        session.add(workspace)
        session.flush()
        seed(session, workspace, CLIENTS, START - timedelta(hours=1), owners=OWNERS, per_client=10, seed_value=42)
        workspace_id = workspace.id
    fake = FakeSlack()
    settings = replace(base, slack_bot_token="xoxb-sim", slack_api_url=fake.api_url, digest=None,
                       daily_focus=5 if policy == "focus" else UNLIMITED)
    posters = _posters(settings, delivery_client(settings))
    rng = random.Random(seed_value)
    outcome = Outcome()
    for index, now in enumerate(_workdays(days)):
        if index:
            with database.sessions.begin() as session:
                _signals(session, workspace_id, rng, now)
        started = time.perf_counter()
        plan_pass(database, now, False, settings)
        planned = time.perf_counter()
        with database.sessions() as session:
            workspaces = list(session.scalars(select(Workspace)))
        focus.select(database.sessions, now, settings, workspaces)
        chosen = time.perf_counter()
        deliver(database.sessions, posters, now, worker=worker_name(), default_channel=None)
        outcome.plan_ms.append((planned - started) * 1000)
        outcome.choose_ms.append((chosen - planned) * 1000)
        with database.sessions.begin() as session:
            if index == 0:
                outcome.initial_due = len({n for n in session.scalars(select(Nudge.client_id).where(
                    Nudge.client_id.is_not(None)))})
            _act(session, workspace_id, person, rng, now, now.date().isoformat(), outcome)
    end = _workdays(days)[-1]
    with database.sessions() as session:
        nudges = list(session.scalars(select(Nudge).where(Nudge.client_id.is_not(None))))
        cards = list(session.scalars(select(Card)))
        touches = defaultdict(list)
        for client_id, at in session.execute(select(Interaction.client_id, Interaction.created_at).where(
                Interaction.logged_by == "USIM", Interaction.direction == "both")):
            touches[client_id].append(at)
    first_card: dict[int, datetime] = {}
    card_at = {c.id: c.created_at for c in cards}
    for nudge in nudges:
        waited_until = card_at.get(nudge.card_id) if nudge.card_id else (None if nudge.status == "dropped" else end)
        if waited_until is not None:
            outcome.longest_wait = max(outcome.longest_wait, WEEK.waited(nudge.created_at, waited_until))
        if nudge.kind == "at_risk" and nudge.card_id:
            delay = WEEK.waited(nudge.created_at, card_at[nudge.card_id])
            (outcome.at_risk_backlog if nudge.created_at <= START else outcome.at_risk_delay).append(delay)
    for card in sorted(cards, key=lambda c: c.created_at):
        first_card.setdefault(card.client_id, card.created_at)
    for client_id, shown in first_card.items():
        if shown > end - timedelta(days=7):
            continue  # not a full week to act in
        outcome.carded += 1
        outcome.acted += any(shown <= t < shown + timedelta(days=7) for t in touches[client_id])
    fake.close()
    database.engine.dispose()
    return outcome


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _delays(delays: list[int]) -> str:
    first_day = sum(1 for d in delays if d == 0) / len(delays) if delays else 0.0
    spread = f"{_pct(delays, 0.5):.0f} / {_pct(delays, 0.95):.0f} / {max(delays, default=0)}"
    return f"{spread} | {first_day:.0%} ({len(delays)})"


def row(policy: str, person: Person, o: Outcome) -> str:
    ratio = statistics.median(o.choose_ms) / statistics.median(o.plan_ms)
    return (f"| {policy} | {person.name} | {_pct(o.cards_per_day, 0.5):.0f} / {_pct(o.cards_per_day, 0.95):.0f} / "
            f"{max(o.cards_per_day)} | {_delays(o.at_risk_delay)} | {_delays(o.at_risk_backlog)} | {o.longest_wait} | "
            f"{o.acted / max(1, o.carded):.0%} ({o.acted}/{o.carded}) | "
            f"{statistics.median(o.plan_ms):.0f} / {max(o.plan_ms):.0f} ms | "
            f"{statistics.median(o.choose_ms):.0f} / {max(o.choose_ms):.0f} ms | {ratio:.2f}x |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    rows, initial = [], 0
    for person in PEOPLE:
        for policy in ("focus", "post everything"):
            outcome = run(policy, person, args.days)
            initial = initial or outcome.initial_due
            rows.append(row(policy, person, outcome))
            print(rows[-1], flush=True)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    text = [f"\n## Focus against posting everything (issue 11) — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}: "
            f"{machine}, Python {platform.python_version()}", "",
            f"`python bench/focus.py --days {args.days}`: {CLIENTS:,} clients (seed-demo), {len(OWNERS)} owners, "
            f"{args.days} workdays from {START:%Y-%m-%d}, one sweep a workday, SQLite. Budget 5 a person for focus; "
            f"unlimited for post everything. {initial:,} clients were due on the first day.", "",
            "| policy | person | cards / person / workday (p50 / p95 / max) | new at-risk signal → first card, "
            "workdays (p50 / p95 / max) | new at-risk on its first workday (signals) | first day's at-risk backlog → "
            "first card (p50 / p95 / max) | backlog at-risk on the first day (signals) | longest wait without a "
            "card, workdays | action rate | plan per sweep (p50 / max) | focus per sweep (p50 / max) | "
            "focus time / plan time (p50) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
