"""Advocate first (PRODUCT.md §4.13): never go behind the advocate's back. Pure functions of state and `now`.

A touch with a sponsor when the advocate has not heard from us in the 2 business days before it deserves a
heads-up to the advocate; if no touch with the advocate follows within 1 business day, a card. A business day
here is a workday (the workspace's business days), counted at the same time of day in the workspace's timezone:
Monday 10:00 looks back to Thursday 10:00, and a sponsor call on Friday 15:00 waits for the advocate until
Monday 15:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOOK_BACK_DAYS = 2  # business days the advocate may have gone without hearing from us before a sponsor touch
GRACE_DAYS = 1  # business days after it for the heads-up before a card
FROM_US = ("out", "both")  # the advocate heard from us


def shift_workdays(moment: datetime, days: int, workdays: frozenset[int], tz: ZoneInfo) -> datetime:
    """`moment` moved by `days` workdays (negative: back), at the same local time. A moment on a day off counts
    from the nearest workday in that direction: its start going forward, its end going back."""
    local = moment.astimezone(tz)
    step = 1 if days >= 0 else -1
    day, at = local.date(), local.time()
    if workdays and day.weekday() not in workdays:
        while day.weekday() not in workdays:
            day += timedelta(days=step)
        at = time.min if step > 0 else time.max
    for _ in range(abs(days)):
        day += timedelta(days=step)
        while workdays and day.weekday() not in workdays:
            day += timedelta(days=step)
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def needs_heads_up(sponsor_touch_at: datetime, advocate_heard_from_us: datetime | None, workdays: frozenset[int],
                   tz: ZoneInfo) -> bool:
    """Whether a touch with a sponsor at `sponsor_touch_at` came while the advocate had not heard from us in the
    2 business days before it."""
    since = shift_workdays(sponsor_touch_at, -LOOK_BACK_DAYS, workdays, tz)
    return advocate_heard_from_us is None or advocate_heard_from_us < since


def heads_up_due(sponsor_touch_at: datetime, workdays: frozenset[int], tz: ZoneInfo) -> datetime:
    """When a heads-up not given becomes a card: 1 business day after the sponsor touch."""
    return shift_workdays(sponsor_touch_at, GRACE_DAYS, workdays, tz)


def suggested_line(advocate: str, sponsor: str, client: str) -> str:
    first = advocate.split()[0] if advocate.split() else advocate
    return (f"Hi {first}, a quick heads-up: I spoke with {sponsor} at {client}. I wanted you to hear it from me "
            "first, and I'd value your read on it.")
