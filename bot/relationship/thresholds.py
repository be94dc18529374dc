"""When a relationship calls for attention (PRODUCT.md §4.1–4.5): the thresholds and warning signs, and when each
one is next due, as pure functions of facts and `now`.

Facts the domain keeps current on every touch (bot.relationship.schedule) and the nudge rules act on; the nudge
engine (bot.nudges.rules) imports them from here, never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

DAY = timedelta(days=1)
QUIET_DEFAULT_DAYS = 30
QUIET_MIN_DAYS, QUIET_MAX_DAYS = 7, 90
RHYTHM_MIN_CONTACTS = 4
RHYTHM_WINDOW = timedelta(days=365)
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


def first_quiet_due(spell_start: datetime, threshold: Threshold, halved_until: datetime | None = None) -> datetime:
    """Quiet means *longer than* the threshold, so the nudge is due once the threshold has fully passed. Until
    `halved_until` (90 days after a handoff, PRODUCT.md §4.13) half the threshold is enough; a spell that would
    only pass the halved one after that window has to pass the whole one."""
    return spell_start + quiet_days(threshold.days, spell_start, halved_until) * DAY


def quiet_days(days: int, spell_start: datetime, halved_until: datetime | None) -> int:
    """The threshold this spell is held to: halved while the halved one passes inside the window."""
    half = halved_days(days)
    return half if halved_until is not None and spell_start + half * DAY < halved_until else days


def halved_days(days: int) -> int:
    """Half a quiet threshold, rounded up: a 7-day threshold becomes 4 days, never 0."""
    return max(1, (days + 1) // 2)


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
