"""Dates as people type them, read in the user's timezone and returned as aware UTC."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_AGO_DAYS = 3650
WHEN_FORMS = "today, yesterday, 3d ago, 2w ago, a weekday like monday, or 2026-11-02"

_AGO = re.compile(r"(\d{1,6})\s*(d|day|days|w|wk|wks|week|weeks)\s+ago")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_PERIOD = re.compile(r"(\d{1,4})\s*(d|day|days|w|wk|wks|week|weeks|m|mo|mos|month|months)")
UNIT_LIMITS = {"d": 365, "w": 52, "m": 12}
UNIT_WORDS = {"d": ("day", "days"), "w": ("week", "weeks"), "m": ("month", "months")}


class WhenError(ValueError):
    pass


MAX_TEXT = 60  # characters: longer than any date or period people type; a longer one is not echoed back


def _bounded(text: str, what: str, forms: str) -> None:
    if len(text) > MAX_TEXT:
        raise WhenError(f"That is {len(text):,} characters, too long for {what}. Use {forms}")


def _at_local_noon(day: date, tz: ZoneInfo) -> datetime:
    # A past day without a time: noon is the least surprising instant, safely inside the day in any zone.
    return datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    _bounded(text, "a date", WHEN_FORMS)
    words = " ".join(text.lower().split())
    today = now.astimezone(tz).date()
    if words in ("", "now", "today"):
        return now
    if words == "yesterday":
        return _at_local_noon(today - timedelta(days=1), tz)
    if match := _AGO.fullmatch(words):
        count = int(match.group(1))
        days = count * (7 if match.group(2).startswith("w") else 1)
        if days > MAX_AGO_DAYS:
            raise WhenError(f"{text!r} is more than ten years ago")
        return now if days == 0 else _at_local_noon(today - timedelta(days=days), tz)
    for index, name in enumerate(WEEKDAYS):
        if words in (name, name[:3]):
            # the most recent one: today's weekday name means today
            back = (today.weekday() - index) % 7
            return now if back == 0 else _at_local_noon(today - timedelta(days=back), tz)
    if match := _ISO.fullmatch(words):
        year, month, day_ = (int(g) for g in match.groups())
        try:
            day = date(year, month, day_)
        except ValueError:
            raise WhenError(f"{text} is not a real date") from None
        if day > today:
            raise WhenError(f"{text} is in the future: log what has happened")
        if (today - day).days > MAX_AGO_DAYS:
            raise WhenError(f"{text} is more than ten years ago")
        return now if day == today else _at_local_noon(day, tz)
    raise WhenError(f"I can't read {text!r} as a date. Use {WHEN_FORMS}")


def parse_period(text: str) -> tuple[int, str]:
    """'2w' -> (2, 'w'); 'd', 'w' or 'm' (calendar months)."""
    _bounded(text, "a period", "a number and d, w or m, like 14d, 2w or 1m")
    match = _PERIOD.fullmatch(" ".join(text.lower().split()))
    if not match:
        raise WhenError(f"I can't read {text!r} as a period. Use a number and d, w or m, like 14d, 2w or 1m")
    count, unit = int(match.group(1)), match.group(2)[0]
    if not 1 <= count <= UNIT_LIMITS[unit]:
        raise WhenError(f"{text!r} is out of range: use 1-365d, 1-52w or 1-12m")
    return count, unit


def add_period(start: datetime, count: int, unit: str) -> datetime:
    if unit == "d":
        return start + timedelta(days=count)
    if unit == "w":
        return start + timedelta(weeks=count)
    month_index = start.month - 1 + count
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def describe_period(count: int, unit: str) -> str:
    one, many = UNIT_WORDS[unit]
    return f"{count} {one if count == 1 else many}"


FUTURE_FORMS = "today, tomorrow, a weekday like friday, in 3d, 2w, or 2026-12-01"
_IN = re.compile(r"(?:in\s+)?(\d{1,4})\s*(d|day|days|w|wk|wks|week|weeks|m|mo|mos|month|months)")
MAX_AHEAD_DAYS = 730


PAST_PROMISE = "a promise is about what is still to come"


def parse_future_day(text: str, now: datetime, tz: ZoneInfo, past: str = PAST_PROMISE) -> date:
    """A day from today on, as people promise them: 'tomorrow', 'friday' (the next one, today if it is
    Friday), 'in 3d', '2w', '2026-12-01'. Read in the user's timezone; a past day is an error, `past` says why."""
    _bounded(text, "a day", FUTURE_FORMS)
    words = " ".join(text.lower().split())
    today = now.astimezone(tz).date()
    day: date | None = None
    if words == "today":
        day = today
    elif words == "tomorrow":
        day = today + timedelta(days=1)
    elif words.removeprefix("next ") in WEEKDAYS or words.removeprefix("next ") in (w[:3] for w in WEEKDAYS):
        name = words.removeprefix("next ")
        index = next(i for i, w in enumerate(WEEKDAYS) if name in (w, w[:3]))
        day = today + timedelta(days=(index - today.weekday()) % 7)
    elif match := _IN.fullmatch(words):
        count, unit = int(match.group(1)), match.group(2)[0]
        day = add_period(datetime.combine(today, time(12)), count, unit).date()
    elif match := _ISO.fullmatch(words):
        try:
            day = date(*(int(g) for g in match.groups()))
        except ValueError:
            raise WhenError(f"{text} is not a real date") from None
        if day < today:
            raise WhenError(f"{text} is in the past: {past}")
    if day is None and (words == "yesterday" or _AGO.fullmatch(words)):
        raise WhenError(f"{text} is in the past: {past}")
    if day is None:
        raise WhenError(f"I can't read {text!r} as a day. Use {FUTURE_FORMS}")
    if (day - today).days > MAX_AHEAD_DAYS:
        raise WhenError(f"{text!r} is more than two years away")
    return day


UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Days:
    """The one way Rapport writes a day wherever it writes one itself (cards and their notification text, the
    digest, App Home): '30 Jun', with the year when it is not the current one ('30 Jun 2025'), read in one
    timezone (the workspace's; App Home: the reader's). Never 'today' or 'yesterday': a message rewritten days
    later must still say the same day."""

    tz: ZoneInfo = field(default=UTC_ZONE)
    year: int | None = None  # the current year, in `tz`; None: always without the year

    @classmethod
    def at(cls, now: datetime, tz: ZoneInfo) -> Days:
        return cls(tz, now.astimezone(tz).year)

    def __call__(self, value: datetime | date | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        day = value.astimezone(self.tz).date() if isinstance(value, datetime) else value
        text = f"{day.day} {day:%b}"
        return text if self.year is None or day.year == self.year else f"{text} {day.year}"

    def date_of(self, value: datetime) -> date:
        return value.astimezone(self.tz).date()


def end_of_week(now: datetime, tz: ZoneInfo) -> datetime:
    """When this week ends where `tz` is: the coming Monday at 00:00. "Due this week" is due before then (a day
    already past included, said as late), never the first days of next week."""
    today = now.astimezone(tz).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tzinfo=tz)
