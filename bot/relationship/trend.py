"""Health and contacts month by month, for the last six months: the same two metrics every month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.relationship.health import WINDOW, HealthInput, assess
from bot.relationship.kinds import WARNING_SIGNS

MONTHS = 6
BARS = "▁▂▃▄▅▆▇█"
HEALTH_BARS = {"At risk": "▁", "Shallow": "▃", "Steady": "▅", "Deep": "█"}


@dataclass(frozen=True)
class Entry:
    occurred_at: datetime
    kind: str
    direction: str | None


@dataclass(frozen=True)
class Month:
    label: str  # 'Jun'
    contacts: int
    health: str


def _month_starts(now: datetime) -> list[datetime]:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [first]
    for _ in range(MONTHS - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


def monthly(entries: Sequence[Entry], referrals: Sequence[datetime], since: datetime, quiet_threshold: int,
            now: datetime) -> list[Month]:
    """Each month's contacts from their side, and the health label as it stood at the month's end (or now).
    `since`: from when Rapport has the client's history (bot.relationship.facts.history_start)."""
    months = []
    starts = _month_starts(now)
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else now + timedelta(seconds=1)  # this month: up to now
        theirs = [e.occurred_at for e in entries if e.occurred_at < end and e.direction in ("in", "both")]
        label = label_at(entries, referrals, since, quiet_threshold, end)
        contacts = sum(1 for t in theirs if t >= start)
        months.append(Month(start.strftime("%b"), contacts, label))
    return months


def label_at(entries: Sequence[Entry], referrals: Sequence[datetime], since: datetime, quiet_threshold: int,
             end: datetime) -> str:
    """The health label as it stood at `end`, from the entries and referrals before it ('—' before Rapport has any
    history of the client: `since`, however recently that history was recorded)."""
    if since >= end:
        return "—"
    before = [e for e in entries if e.occurred_at < end]
    theirs = [e.occurred_at for e in before if e.direction in ("in", "both")]
    kinds: dict[str, int] = {}
    for e in before:
        if e.occurred_at >= end - WINDOW:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
    last_their = max(theirs, default=None)
    outs = [e for e in before if e.direction == "out" and (last_their is None or e.occurred_at > last_their)]
    return assess(HealthInput(
        kinds=kinds, referrals=sum(1 for r in referrals if end - WINDOW <= r < end),
        warning_signs_30d=sum(1 for e in before
                              if e.kind in WARNING_SIGNS and e.occurred_at >= end - timedelta(days=30)),
        silent_days=max(0, (end - (last_their or since)).days), heard_ever=last_their is not None,
        quiet_threshold=quiet_threshold, unanswered=len(outs),
    )).label


def sparkline(values: Sequence[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] for v in values)


def describe(months: Sequence[Month]) -> tuple[str, str]:
    span = f"{months[0].label}–{months[-1].label}"
    contacts = f"Contacts from them by month ({span}): {sparkline([m.contacts for m in months])}  " + \
        " ".join(str(m.contacts) for m in months)
    health = f"Health by month ({span}): " + "".join(HEALTH_BARS.get(m.health, "·") for m in months) + "  " + \
        " → ".join(m.health for m in months)
    return contacts, health
