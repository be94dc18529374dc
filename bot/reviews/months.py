"""Months as a workspace sees them: 'YYYY-MM', from its local midnight on the 1st to the next one, in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# The earliest month a review is asked for is 2000-01 (bot/reviews/view.py); its six-month history reaches back
# into 1999, so a month as such may be older. Before 1900 the calendar's edges are too near (a timezone's offset
# could leave year 1).
FIRST_YEAR = 1900


@dataclass(frozen=True)
class Month:
    key: str  # 'YYYY-MM'
    start: datetime  # UTC
    end: datetime  # UTC, exclusive: the next month's start
    first_day: date
    last_day: date

    @property
    def title(self) -> str:
        return self.first_day.strftime("%B %Y")

    @property
    def short(self) -> str:
        return self.first_day.strftime("%b")


def _add(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def month_of(key: str, tz: ZoneInfo) -> Month:
    match = MONTH.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not a month like 2026-10")
    year, number = int(match[1]), int(match[2])
    if not 1 <= number <= 12 or year < FIRST_YEAR:
        raise ValueError(f"{key!r} is not a month like 2026-10")
    next_year, next_number = _add(year, number, 1)
    first, following = date(year, number, 1), date(next_year, next_number, 1)
    start = datetime(year, number, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(next_year, next_number, 1, tzinfo=tz).astimezone(UTC)
    return Month(key, start, end, first, date.fromordinal(following.toordinal() - 1))


def current_key(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m")


def shift(key: str, months: int) -> str:
    year, number = _add(int(key[:4]), int(key[5:7]), months)
    return f"{year:04d}-{number:02d}"


def last_full_key(now: datetime, tz: ZoneInfo) -> str:
    return shift(current_key(now, tz), -1)
