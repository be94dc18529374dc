"""The nudge rules of PRODUCT.md §4.1–4.5, as pure functions of facts and `now`.

Each rule answers two questions: when is the next nudge due, and which episode does it belong to (the
episode goes into the dedup key, so the same observation is never nudged twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from statistics import median
from zoneinfo import ZoneInfo

from bot.settings import BusinessHours

DAY = timedelta(days=1)
CONTACTABLE = ("active", "prospect")  # statuses the rules nudge about (former clients have their own series)
QUIET_DEFAULT_DAYS = 30
QUIET_MIN_DAYS, QUIET_MAX_DAYS = 7, 90
RHYTHM_MIN_CONTACTS = 4
RHYTHM_WINDOW = timedelta(days=365)
QUIET_REMIND_EVERY = timedelta(days=7)
QUIET_MAX_NUDGES = 3
UNANSWERED_MIN = 3
UNANSWERED_AFTER = timedelta(days=7)
THANK_AFTER = (timedelta(days=2), timedelta(days=7))
WARNING_WINDOW = timedelta(days=30)
AT_RISK_SIGNS = 2


@dataclass(frozen=True)
class Threshold:
    days: int
    how: str  # 'own' | 'rhythm' | 'default'

    def describe(self) -> str:
        return {"own": "set for this client", "rhythm": "twice their usual gap between contacts",
                "default": "the default, until there are 4 contacts from them in a year"}[self.how]


def quiet_threshold(own_days: int | None, their_contacts: Sequence[datetime], now: datetime) -> Threshold:
    """The client's own setting; else twice the median gap of their last year's contacts (4+), kept
    within 7–90 days; else 30 days. Contacts count once per day, so several signals logged after one
    meeting do not make the rhythm look faster than it is."""
    if own_days:
        return Threshold(own_days, "own")
    recent = sorted({t.date() for t in their_contacts if timedelta(0) <= now - t <= RHYTHM_WINDOW})
    if len(recent) >= RHYTHM_MIN_CONTACTS:
        gaps = [(b - a).days for a, b in pairwise(recent)]
        days = round(2 * median(gaps))
        return Threshold(min(QUIET_MAX_DAYS, max(QUIET_MIN_DAYS, days)), "rhythm")
    return Threshold(QUIET_DEFAULT_DAYS, "default")


def first_quiet_due(spell_start: datetime, threshold: Threshold) -> datetime:
    """Quiet means *longer than* the threshold, so the nudge is due once the threshold has fully passed."""
    return spell_start + threshold.days * DAY


def after_quiet_nudge(number: int, now: datetime) -> datetime | None:
    """Reminders at most every 7 days and at most 3 nudges a spell; after that only the digest lists it."""
    return now + QUIET_REMIND_EVERY if number < QUIET_MAX_NUDGES else None


def unanswered_due(out_touches: Sequence[datetime]) -> datetime | None:
    """3+ touches from us since they last replied, the first at least 7 days ago."""
    if len(out_touches) < UNANSWERED_MIN:
        return None
    ordered = sorted(out_touches)
    return max(ordered[0] + UNANSWERED_AFTER, ordered[UNANSWERED_MIN - 1])


def thank_due(logged_at: datetime, nudges_so_far: int, last_nudge_at: datetime | None = None) -> datetime | None:
    """2 days after the referral, again at 7 days; a late first nudge keeps the same 5-day spacing."""
    if nudges_so_far >= len(THANK_AFTER):
        return None
    due = logged_at + THANK_AFTER[nudges_so_far]
    if last_nudge_at is not None and nudges_so_far:
        due = max(due, last_nudge_at + THANK_AFTER[nudges_so_far] - THANK_AFTER[nudges_so_far - 1])
    return due


def at_risk_episode(signs: Sequence[datetime], now: datetime) -> datetime | None:
    """The start of the current run of warning signs (each within 30 days of the previous) if at least two of
    them fall within 30 days of each other and the latest is within the last 30 days."""
    ordered = sorted(t for t in signs if t <= now)
    if len(ordered) < AT_RISK_SIGNS or now - ordered[-1] > WARNING_WINDOW:
        return None
    start = len(ordered) - 1
    while start > 0 and ordered[start] - ordered[start - 1] <= WARNING_WINDOW:
        start -= 1
    run = ordered[start:]
    in_window = [t for t in run if ordered[-1] - t <= WARNING_WINDOW]
    return run[0] if len(in_window) >= AT_RISK_SIGNS else None


def advocate_due(last_primary: datetime | None, last_their: datetime | None, threshold: Threshold) -> datetime | None:
    """The primary contact has gone quiet while others at the client still talk."""
    if last_primary is None or last_their is None or last_their <= last_primary:
        return None
    return last_primary + threshold.days * DAY


WINBACK_FIRST = timedelta(days=90)
WINBACK_EVERY = timedelta(days=60)
WINBACK_SOFT_TOUCHES = 6


def winback_start(ended_at: datetime, no_winback: bool, opted_out: bool) -> datetime | None:
    """90 days after a client leaves, ask for feedback, unless they said no (no-winback, or opted out)."""
    return None if no_winback or opted_out else ended_at + WINBACK_FIRST


def after_winback(number: int, now: datetime) -> datetime | None:
    """After the feedback ask (1), soft touches every 60 days, at most 6; then the series ends."""
    return now + WINBACK_EVERY if number < 1 + WINBACK_SOFT_TOUCHES else None


def describe_winback(number_done: int, next_due: datetime | None, no_winback: bool, opted_out: bool) -> str:
    """Where a former client is in the series, for `list former`."""
    if opted_out:
        return "opted out"
    if no_winback:
        return "no win-back"
    if next_due is None:
        return "series complete" if number_done else "no series"
    if number_done == 0:
        return f"feedback ask due {next_due:%Y-%m-%d}"
    done = "feedback asked" if number_done == 1 else f"{number_done - 1} of {WINBACK_SOFT_TOUCHES} soft touches"
    return f"{done}; next soft touch {next_due:%Y-%m-%d}"


def in_business_hours(now: datetime, hours: BusinessHours, tz: ZoneInfo) -> bool:
    local = now.astimezone(tz)
    return local.weekday() in hours.days and hours.start <= local.time() < hours.end if hours.end != time.max \
        else local.weekday() in hours.days and hours.start <= local.time()


def business_time_between(start: datetime, end: datetime, hours: BusinessHours, tz: ZoneInfo) -> timedelta:
    """How much of [start, end) fell inside business hours, in the workspace's timezone (a question asked on
    Friday at 16:00 has waited two business hours by Monday at 10:00 with 09:00–17:00)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, tzinfo=tz)
            closes = datetime.combine(day, hours.end, tzinfo=tz) if hours.end != time.max else \
                datetime.combine(day + DAY, time(0), tzinfo=tz)
            overlap = min(end, closes) - max(start, opens)
            if overlap > timedelta(0):
                total += overlap
        day += DAY
    return total


REPLY_WINDOW = timedelta(days=14)  # a client's question older than this, unanswered, is left to the quiet rule


def reply_due(asked_at: datetime, now: datetime, reply_hours: int, hours: BusinessHours, tz: ZoneInfo) -> bool:
    """A client's message nobody from our side answered within `reply_hours` business hours (PRODUCT.md §4.9)."""
    return now - asked_at <= REPLY_WINDOW and \
        business_time_between(asked_at, now, hours, tz) >= timedelta(hours=reply_hours)


def episode_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")
