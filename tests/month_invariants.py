"""What must hold after a simulated month (tests/month.py): read from the database, the fake Slack's channels, the
harness's ledger and serve's log. Each check says what it looked at, so a pass is not an empty one, and a failure
that matches one of the three defects issue 35 found names it."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import String, Text, func, or_, select

from bot.database import Database
from storage.models import Base, Card, Client, FocusDay, Interaction, Nudge, ReviewMonth
from tests.fake_slack import FakeSlack
from tests.month import FOCUS, MONTH_END, NUDGES, Ledger

KNOWN = {
    1: "issue 35 bug 1: a weekend first sweep plans last week's digest, posted on Monday beside the new one",
    2: "issue 35 bug 2: an event acknowledged, then lost when a deploy's SIGTERM ends the worker first",
    3: "issue 35 bug 3: a nudge recorded `dropped` while its card is in Slack (touch during an unknown outcome)",
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    known: int | None = None  # which of issue 35's bugs this failure is, when it is one

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        known = f"\n        known: {KNOWN[self.known]}" if not self.ok and self.known else ""
        return f"  {mark} {self.name}: {self.detail}{known}"


def _workdays_between(start: date, end: date) -> int:
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += day.weekday() < 5
    return days


def _posted_day(ts: str) -> date:
    return datetime.fromtimestamp(float(ts), UTC).date()


def check(database: Database, fake: FakeSlack, ledger: Ledger, log: Path, sqlite_file: Path | None) -> list[Check]:
    carriers = fake.carriers()
    with database.sessions() as session:
        nudges = {n.id: n for n in session.scalars(select(Nudge))}
        clients = {c.id: c for c in session.scalars(select(Client))}
        cards = list(session.scalars(select(Card)))
        focus_days = list(session.scalars(select(FocusDay)))
        frozen = list(session.scalars(select(ReviewMonth)))
        interactions = list(session.scalars(select(Interaction)))
    checks = [
        _once(carriers),
        _agrees_with_slack(carriers, nudges),
        _daily_number(cards, focus_days),
        _nothing_lost(ledger, clients, interactions),
        _focus_promise(nudges, cards, focus_days, ledger),
        _digests(carriers, nudges, ledger),
        _month_end(carriers, nudges, frozen, clients, ledger),
        _erasure(database, ledger, sqlite_file),
        _list_totals(ledger),
        _deploys(ledger),
        _outage(ledger),
        _tracebacks(log),
    ]
    return [c for c in checks if c is not None]


def _once(carriers: dict[int, list[tuple[str, str]]]) -> Check:
    twice = {i: where for i, where in carriers.items() if len(where) > 1}
    shown = dict(list(twice.items())[:5])
    return Check("no nudge posted twice", not twice,
                 f"{len(carriers)} nudges posted" + (f"; more than once: {shown}" if twice else ""))


def _agrees_with_slack(carriers: dict[int, list[tuple[str, str]]], nudges: dict[int, Nudge]) -> Check:
    """Every nudge in Slack is recorded sent with the message's ts; every nudge recorded sent is in Slack."""
    wrong = []
    for nudge_id, where in carriers.items():
        row = nudges.get(nudge_id)
        if row is None:
            continue  # its client was forgotten since: erasure takes the row
        if row.status != "sent" or row.message_ts not in {ts for _, ts in where}:
            wrong.append(f"#{nudge_id} {row.kind} in Slack but recorded {row.status} (ts {row.message_ts})")
    unseen = [f"#{n.id} recorded sent, in no channel" for n in nudges.values() if n.status == "sent"
              and n.id not in carriers]
    dropped = any("recorded dropped" in w for w in wrong)
    return Check("the database agrees with Slack", not wrong and not unseen,
                 f"{len(carriers)} posted nudges against their rows" + ("; " + "; ".join((wrong + unseen)[:5])
                                                                       if wrong or unseen else ""),
                 3 if dropped else None)


def _daily_number(cards: list[Card], focus_days: list[FocusDay]) -> Check:
    per: Counter[tuple[str, str]] = Counter((c.owner_id, c.day) for c in cards)
    over = {k: n for k, n in per.items() if n > FOCUS}
    over.update({(f.owner_id, f.day): f.shown for f in focus_days if f.shown > FOCUS})
    busiest = max(per.values(), default=0)
    return Check("no person over the daily card number", not over,
                 f"{len(cards)} cards over {len(per)} person-days, at most {busiest} a day (limit {FOCUS})"
                 + (f"; over: {over}" if over else ""))


def _nothing_lost(ledger: Ledger, clients: dict[int, Client], interactions: list[Interaction]) -> Check:
    by_name = {c.name: c.id for c in clients.values()}
    notes = {(i.client_id, i.note) for i in interactions}
    lost = [f"/client log {name} ({note})" for name, note in ledger.logged
            if name not in ledger.forgotten and (by_name.get(name), note) not in notes]
    slack = defaultdict(list)
    for i in interactions:
        if i.source == "slack":
            slack[(i.client_id, i.direction)].append(i.occurred_at.timestamp())
    for name, channel, ts, direction in ledger.captured:
        if name in ledger.forgotten:
            continue
        kept = slack.get((by_name.get(name), direction), [])
        if not any(float(ts) - 3600 <= at <= float(ts) + 1 for at in kept):  # at most one touch a side an hour
            lost.append(f"{direction} message {ts} in {channel} ({name})")
    return Check("nothing logged lost", not lost,
                 f"{len(ledger.logged)} logged touches, {len(ledger.captured)} acknowledged Slack Connect messages"
                 + (f"; lost: {lost[:5]}" if lost else ""),
                 2 if any("message" in x for x in lost) else None)


def _focus_promise(nudges: dict[int, Nudge], cards: list[Card], focus_days: list[FocusDay], ledger: Ledger) -> Check:
    """PRODUCT.md §4.8: nothing due waits for its first card longer than 10 workdays, or than the backlog takes
    at the budget's pace. The wait starts when Rapport knew it was due: an imported client quiet since February
    is due from the sweep after the import, not from February."""
    backlog = max((f.waiting + f.shown for f in focus_days), default=0)
    bound = max(10, math.ceil(backlog / FOCUS))
    end = ledger.days[-1]
    card_day = {c.id: date.fromisoformat(c.day) for c in cards}
    waits, late = [], []
    for n in nudges.values():
        if n.client_id is None or n.kind in ("digest", "reviews"):
            continue
        due = max(n.due_at, n.created_at).date()
        if n.card_id in card_day:
            waited = _workdays_between(due, card_day[n.card_id])
        elif n.status in ("pending", "unknown"):
            waited = _workdays_between(due, end)
        else:
            continue
        waits.append(waited)
        if waited > bound:
            late.append(f"#{n.id} {n.kind} due {due}, waited {waited} workdays")
    longest = max(waits, default=0)
    promise = f"promise {bound} workdays (largest backlog {backlog} at {FOCUS} a day)"
    checkable = "" if _workdays_between(ledger.days[0], end) > bound else "; the run is shorter than the promise"
    return Check("everything due carded within the focus promise", not late,
                 f"{len(waits)} client nudges, longest wait {longest} workdays, {promise}{checkable}"
                 + (f"; late: {late[:5]}" if late else ""))


def _digests(carriers: dict[int, list[tuple[str, str]]], nudges: dict[int, Nudge], ledger: Ledger) -> Check:
    posted: dict[str, list[date]] = defaultdict(list)
    for nudge_id, where in carriers.items():
        row = nudges.get(nudge_id)
        if row is not None and row.kind == "digest":
            for channel, ts in where:
                posted[channel].append(_posted_day(ts))
    weeks = sorted({d.isocalendar()[:2] for d in ledger.days})
    wrong, same_day = [], False
    for channel in sorted(set(posted) | {NUDGES}):
        per_week = Counter(d.isocalendar()[:2] for d in posted[channel])
        for week in weeks:
            if per_week[week] != 1:
                wrong.append(f"{channel} week {week[0]}-W{week[1]:02d}: {per_week[week]}")
        same_day = same_day or any(n > 1 for n in Counter(posted[channel]).values())
    total = sum(map(len, posted.values()))
    return Check("digests once a week per channel", not wrong,
                 f"{total} digests in {len(posted)} channels over {len(weeks)} weeks"
                 + (f"; {wrong}" if wrong else ""), 1 if same_day else None)


def _month_end(carriers: dict[int, list[tuple[str, str]]], nudges: dict[int, Nudge], frozen: list[ReviewMonth],
               clients: dict[int, Client], ledger: Ledger) -> Check:
    month = MONTH_END.strftime("%Y-%m")
    rows = Counter(r.client_id for r in frozen if r.month == month)
    twice = [clients[c].name for c, n in rows.items() if n > 1 and c in clients]
    missing = [c.name for c in clients.values() if c.id not in rows and c.created_at.date() <= MONTH_END]
    when = sorted({r.frozen_at.date() for r in frozen if r.month == month})
    early = [d for d in when if d <= MONTH_END]
    messages: Counter[str] = Counter()
    for nudge_id, where in carriers.items():
        row = nudges.get(nudge_id)
        if row is not None and row.kind == "reviews" and row.dedup_key.endswith(":" + month):
            messages[row.dedup_key.split(":")[2]] += len(where)
    owners = {c.owner_id for c in clients.values()}
    wrong_messages = {o: messages[o] for o in owners | set(messages) if messages[o] != 1}
    ok = not twice and not missing and not early and not wrong_messages
    return Check("the month frozen once, one monthly message per owner", ok,
                 f"{sum(rows.values())} reviews of {month} frozen on {[str(d) for d in when]}, monthly messages "
                 f"{dict(messages)}" + (f"; frozen twice: {twice[:5]}" if twice else "")
                 + (f"; not frozen: {missing[:5]}" if missing else "") + (f"; frozen early: {early}" if early else "")
                 + (f"; owners without exactly one message: {wrong_messages}" if wrong_messages else ""))


def _erasure(database: Database, ledger: Ledger, sqlite_file: Path | None) -> Check | None:
    if not ledger.forgotten:
        return Check("erasure complete", False, "nothing was forgotten: the run's forget did not happen")
    found = []
    with database.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for name in ledger.forgotten:
                if columns and session.execute(select(func.count()).select_from(table).where(
                        or_(*[func.lower(c).contains(name.lower()) for c in columns]))).scalar():
                    found.append(f"{name} in {table.name}")
    if sqlite_file is not None:
        for path in (sqlite_file, sqlite_file.with_name(sqlite_file.name + "-wal")):
            if path.exists():
                raw = path.read_bytes().lower()
                found += [f"{name} in {path.name}'s bytes" for name in ledger.forgotten if name.lower().encode() in raw]
    return Check("erasure complete", not found, f"forgot {ledger.forgotten}; looked in every text column"
                 + (" and the database file" if sqlite_file else "") + (f"; still there: {found}" if found else ""))


def _list_totals(ledger: Ledger) -> Check:
    wrong = [f"{who} list {which}: shows {shown}, expected {expected}"
             for who, which, expected, shown in ledger.list_checks if expected != shown]
    return Check("list totals right", bool(ledger.list_checks) and not wrong,
                 f"{len(ledger.list_checks)} lists compared with the clients the harness made" +
                 (f"; {wrong[:5]}" if wrong else ""))


def _deploys(ledger: Ledger) -> Check:
    slowest = max(ledger.stops, default=0.0)
    return Check("every SIGTERM ends serve within 10 s", slowest <= 10,
                 f"{len(ledger.stops)} stops, slowest {slowest:.1f} s")


def _outage(ledger: Ledger) -> Check | None:
    if not ledger.outage_answers:
        return None
    wrong = [f"{s:.1f} s: {t[:80]!r}" for s, t in ledger.outage_answers if s > 3 or "nothing was saved" not in t]
    return Check("a command in the outage is answered within 3 s, nothing saved", not wrong,
                 f"{len(ledger.outage_answers)} commands during the outage" + (f"; {wrong}" if wrong else ""))


def _tracebacks(log: Path) -> Check:
    text = log.read_text(errors="replace")
    found = [m.start() for m in re.finditer(r"Traceback \(most recent call last\)", text)]
    shown = []
    for start in found[:3]:
        before = text.rfind("\n", 0, max(0, start - 1))
        head = text[text.rfind("\n", 0, max(0, before - 1)) + 1:start].strip().splitlines()
        tail = text[start:text.find("\n\n", start) if "\n\n" in text[start:] else start + 2000].splitlines()
        last = next((line for line in reversed(tail[:60]) if line and not line.startswith(" ")), "")
        shown.append(f"{(head[-1] if head else '')[:160]} … {last[:160]}")
    ack = "run_ack_function_asynchronously" in text
    return Check("no traceback in serve's log", not found,
                 f"{len(text.splitlines())} log lines" + (f"; {len(found)} tracebacks: {shown}" if found else ""),
                 2 if ack else None)


def report(checks: list[Check]) -> str:
    return "\n".join(c.line() for c in checks)
