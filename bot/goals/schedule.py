"""When a goal asks its owner something (PRODUCT.md §4.11), as pure functions of `now`: "how confident are you
now, 1-10?" on the first workday of each week, and "met or missed?" once its date has passed.

The week is Monday to Sunday where the workspace is; its first workday is the first of the business-hours days
in it (Tuesday under `tue-sat 09:00-17:00`). A goal asks first in the week after it was agreed, and a week
whose answer was already given (by a command) asks nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.settings import BusinessHours

DAY = timedelta(days=1)


def first_workday_of_week(day: date, workdays: frozenset[int]) -> date:
    """The first workday of the Monday-to-Sunday week holding `day` (its Monday when there are no workdays)."""
    monday = day - timedelta(days=day.weekday())
    return next((monday + timedelta(days=i) for i in range(7) if i in workdays), monday)


def _opening(day: date, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)


def next_weekly_check(after: datetime, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    """When business hours open on the first workday of the week after the one holding `after`."""
    local = after.astimezone(tz).date()
    next_monday = local - timedelta(days=local.weekday()) + timedelta(days=7)
    return _opening(first_workday_of_week(next_monday, hours.days), hours, tz)


def past_due_at(due_on: date, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    """When a goal first asks "met or missed?": business hours' opening on the first workday after its date."""
    day = due_on + DAY
    while hours.days and day.weekday() not in hours.days:
        day += DAY
    return _opening(day, hours, tz)


def week_of(moment: datetime, tz: ZoneInfo) -> str:
    """The ISO week a moment falls in where the workspace is, e.g. '2026-W48': one check card per goal each."""
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class GoalStep:
    """What a goal's rule says now: a card to plan ('check': the weekly confidence question; 'due': met or
    missed?), and when to look again (None: only a person's answer brings it back)."""

    stage: str | None
    next_check: datetime | None


def goal_step(due_on: date, created_at: datetime, confidence_at: datetime | None, now: datetime,
              hours: BusinessHours, tz: ZoneInfo) -> GoalStep:
    """Past its date (the day after it, where the workspace is): ask met or missed, once. Else, from the first
    workday of the week after it was agreed or last answered: ask how confident, once a week."""
    if now.astimezone(tz).date() > due_on:
        return GoalStep("due", None)
    asked_after = max(created_at, confidence_at) if confidence_at else created_at
    due_check = next_weekly_check(asked_after, hours, tz)
    ask_due = past_due_at(due_on, hours, tz)
    if now >= due_check:
        return GoalStep("check", min(next_weekly_check(now, hours, tz), ask_due))
    return GoalStep(None, min(due_check, ask_due))
