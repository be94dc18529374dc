"""The nudge rules of PRODUCT.md §4.1–4.10, as pure functions of facts and `now`. The thresholds and warning
signs they act on are relationship facts (bot.relationship.thresholds) and are imported from there.

Each rule answers two questions: when is the next nudge due, and which episode does it belong to (the
episode goes into the dedup key, so the same observation is never nudged twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.relationship.thresholds import (
    AT_RISK_SIGNS,
    DAY,
    QUIET_DEFAULT_DAYS,
    QUIET_MAX_DAYS,
    QUIET_MIN_DAYS,
    RHYTHM_MIN_CONTACTS,
    RHYTHM_WINDOW,
    THANK_AFTER,
    UNANSWERED_AFTER,
    UNANSWERED_MIN,
    WARNING_WINDOW,
    Threshold,
    advocate_due,
    at_risk_episode,
    first_quiet_due,
    quiet_threshold,
    thank_due,
    unanswered_due,
)
from bot.settings import BusinessHours, business_time_between

CONTACTABLE = ("active", "prospect")  # statuses the rules nudge about (former clients have their own series)
QUIET_REMIND_EVERY = timedelta(days=7)
QUIET_MAX_NUDGES = 3


def after_quiet_nudge(number: int, now: datetime) -> datetime | None:
    """Reminders at most every 7 days and at most 3 nudges a spell; after that only the digest lists it."""
    return now + QUIET_REMIND_EVERY if number < QUIET_MAX_NUDGES else None


__all__ = [  # the thresholds, still readable as rules.X where the nudges use them
    "AT_RISK_SIGNS", "QUIET_DEFAULT_DAYS", "QUIET_MAX_DAYS", "QUIET_MIN_DAYS", "RHYTHM_MIN_CONTACTS", "RHYTHM_WINDOW",
    "THANK_AFTER", "UNANSWERED_AFTER", "UNANSWERED_MIN", "WARNING_WINDOW", "Threshold", "advocate_due",
    "at_risk_episode", "business_time_between", "first_quiet_due", "quiet_threshold", "thank_due", "unanswered_due",
]

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


REPLY_WINDOW = timedelta(days=14)  # a client's question older than this, unanswered, is left to the quiet rule


def reply_due(asked_at: datetime, now: datetime, reply_hours: int, hours: BusinessHours, tz: ZoneInfo) -> bool:
    """A client's message nobody from our side answered within `reply_hours` business hours (PRODUCT.md §4.9)."""
    return now - asked_at <= REPLY_WINDOW and \
        business_time_between(asked_at, now, hours, tz) >= timedelta(hours=reply_hours)


# --- Commitments (PRODUCT.md §4.10) -----------------------------------------------------------------------

PROMISE_LATE_REMINDERS = 3  # cards about an overdue promise, every PROMISE_LATE_EVERY business days
PROMISE_LATE_EVERY = 2
ISSUE_UPDATE_REMINDERS = 3  # cards about one silence on an open issue; after that App Home and the digest
ISSUE_LATE_UPDATES = 2  # updates behind that make an open issue a warning sign


def next_workday(day: date, workdays: frozenset[int]) -> date:
    """The first workday after `day`."""
    day += DAY
    while workdays and day.weekday() not in workdays:
        day += DAY
    return day


def previous_workday(day: date, workdays: frozenset[int]) -> date:
    """The last workday before `day`."""
    day -= DAY
    while workdays and day.weekday() not in workdays:
        day -= DAY
    return day


def add_workdays(day: date, count: int, workdays: frozenset[int]) -> date:
    for _ in range(count):
        day = next_workday(day, workdays)
    return day


def workdays_after(first: date, last: date, workdays: frozenset[int]) -> int:
    """Workdays in (first, last]: whole weeks at once, so a client waiting years costs no more than one waiting
    days (focus counts this for every waiting client on every sweep)."""
    if last <= first:
        return 0
    weeks, extra = divmod((last - first).days, 7)
    tail = first + timedelta(days=7 * weeks)
    return weeks * len(workdays) + sum((tail + timedelta(days=i)).weekday() in workdays for i in range(1, extra + 1))


def opening(day: date, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    """When business hours begin that day, in UTC."""
    return datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Step:
    """What a commitment's rule says now: a card to plan (`stage`), and when to look again."""

    stage: str | None  # promise: 'soon' | 'late'; issue: 'update'; None: nothing to say now
    number: int  # the late card's number, or how many updates behind
    next_check: datetime | None
    late_since: datetime | None  # a warning sign since then, or None


def promise_step(due_on: date, created_at: datetime, reminders: int, now: datetime, hours: BusinessHours,
                 tz: ZoneInfo) -> Step:
    """A card the business day before it is due (unless it was made that late), and once it is overdue, then
    again every 2 business days, 3 times at most."""
    today = now.astimezone(tz).date()
    eve, after = previous_workday(due_on, hours.days), next_workday(due_on, hours.days)
    if today > due_on:
        late_since = datetime.combine(due_on + DAY, time(0), tzinfo=tz).astimezone(UTC)
        number = reminders + 1
        if number > PROMISE_LATE_REMINDERS:
            return Step(None, reminders, None, late_since)
        shown = today if today.weekday() in hours.days else next_workday(today, hours.days)  # first seen then
        again = opening(add_workdays(shown, PROMISE_LATE_EVERY, hours.days), hours, tz) \
            if number < PROMISE_LATE_REMINDERS else None
        return Step("late", number, again, late_since)
    if today >= eve:
        made_late = created_at.astimezone(tz).date() >= eve  # promised on the eve or the day: no reminder needed
        soon = today < due_on and not made_late  # on the day itself a reminder would only be a late one
        return Step("soon" if soon else None, 0, opening(after, hours, tz), None)
    return Step(None, 0, opening(eve, hours, tz), None)


def issue_step(since: datetime, reminders: int, now: datetime, every: int, hours: BusinessHours,
               tz: ZoneInfo) -> Step:
    """A status update owed every `every` business days since the last one (or since it was opened): a card for
    each one owed, 3 at most for one silence; two behind is a warning sign."""
    first, today = since.astimezone(tz).date(), now.astimezone(tz).date()
    behind = workdays_after(first, today, hours.days) // every
    late_since = opening(add_workdays(first, ISSUE_LATE_UPDATES * every, hours.days), hours, tz) \
        if behind >= ISSUE_LATE_UPDATES else None
    next_check = opening(add_workdays(first, (behind + 1) * every, hours.days), hours, tz)
    owed = behind >= 1 and reminders < min(behind, ISSUE_UPDATE_REMINDERS)
    return Step("update" if owed else None, behind, next_check, late_since)


def episode_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")
