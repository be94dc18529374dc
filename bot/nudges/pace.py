"""Each person's own pace (PRODUCT.md §4.8): fewer cards a workday than the workspace's number (never more), the
hour they come, and a pause until a day (a holiday). What comes due meanwhile is not dropped: it waits, ranked,
and competes again when their cards come.

The hour is the person's own: read in their Slack timezone (kept with it, so a sweep knows it), and accepted only
when it falls inside the workspace's business hours, the only time anything is posted. On a day when it no longer
does (a clock change on one side), their cards come in the last sweep before business hours close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.settings import BusinessHours
from bot.when import Days, WhenError, parse_future_day
from storage.models import PersonPace
from storage.paces import pace_for_update

HOUR = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
PAUSE_MAX = timedelta(days=365)
PAST_PAUSE = "a pause runs until a day still to come"


class PaceError(ValueError):
    """A pace that cannot be: the message says why and what would do."""


@dataclass(frozen=True)
class Pace:
    """A person's pace as it applies: their own where they set one, else the workspace's."""

    cards: int  # a workday, at most the workspace's number
    cap: int  # the workspace's number (RAPPORT_DAILY_FOCUS)
    at: time | None  # no cards before this time of theirs; None: from the start of business hours
    tz: ZoneInfo  # theirs, as Slack had it when they set the hour or the pause; else the workspace's
    paused_until: date | None  # no cards before this day of theirs

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now.astimezone(self.tz).date() < self.paused_until

    def starts(self, now: datetime, hours: BusinessHours, workspace_tz: ZoneInfo, sweep: timedelta) -> datetime | None:
        """When their cards may come today: their hour, or the last sweep before business hours close when their
        hour falls after that today. None: from the start of business hours."""
        if self.at is None:
            return None
        start = datetime.combine(now.astimezone(self.tz).date(), self.at, tzinfo=self.tz)
        day = now.astimezone(workspace_tz).date()
        closes = datetime.combine(day, hours.end, tzinfo=workspace_tz) if hours.end != time.max else \
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=workspace_tz)
        return min(start, closes - sweep)

    def waits(self, now: datetime, hours: BusinessHours, workspace_tz: ZoneInfo, sweep: timedelta) -> bool:
        """No cards for them in this pass: paused, or their hour has not come yet today."""
        starts = self.starts(now, hours, workspace_tz, sweep)
        return self.paused(now) or (starts is not None and now < starts)


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default  # the system's tz database dropped a name it once had


def pace_of(row: PersonPace | None, cap: int, workspace_tz: ZoneInfo) -> Pace:
    if row is None:
        return Pace(cap, cap, None, workspace_tz, None)
    at = None
    if row.at and (match := HOUR.fullmatch(row.at)):
        at = time(int(match.group(1)), int(match.group(2)))
    return Pace(min(row.cards, cap) if row.cards else cap, cap, at, _zone(row.tz, workspace_tz), row.paused_until)


@dataclass(frozen=True)
class Change:
    """What a person asked to change; None leaves it as it is."""

    cards: int | None = None
    at: time | None = None
    pause_until: date | None = None
    resume: bool = False

    @property
    def empty(self) -> bool:
        return self.cards is None and self.at is None and self.pause_until is None and not self.resume


def read_cards(text: str, cap: int) -> int:
    if not text.strip().isdigit() or len(text.strip()) > 4:
        raise PaceError(f"Cards a day is a number from 1 to {cap}, not {text.strip()!r}.")
    cards = int(text)
    if cards < 1:
        raise PaceError("0 cards a day would stop them altogether. To stop them for a while, pause them: "
                        f"/client me pause until <date>. Choose from 1 to {cap}.")
    if cards > cap:
        raise PaceError(f"This workspace brings up at most {cap} clients a person a workday (RAPPORT_DAILY_FOCUS), "
                        f"so {cards} is more than it allows. Choose from 1 to {cap}.")
    return cards


def read_hour(text: str) -> time:
    match = HOUR.fullmatch(text.strip())
    if not match:
        raise PaceError(f"Write the time as HH:MM on the 24-hour clock, like 10:30, not {text.strip()!r}.")
    return time(int(match.group(1)), int(match.group(2)))


def read_pause(text: str, now: datetime, tz: ZoneInfo) -> date:
    """The day cards start again, read in the person's timezone: after today, at most a year ahead."""
    try:
        day = parse_future_day(text, now, tz, PAST_PAUSE)
    except WhenError as exc:
        raise PaceError(f"{exc}.") from None
    today = now.astimezone(tz).date()
    if day <= today:
        raise PaceError(f"A pause until {text.strip()} would end before it began: pause until a day after today, "
                        "when your cards start again.")
    if day - today > PAUSE_MAX:
        raise PaceError(f"{text.strip()} is more than a year away: pause until a day within the next year.")
    return day


def check_hour(at: time, person_tz: ZoneInfo, workspace_tz: ZoneInfo, hours: BusinessHours, now: datetime) -> None:
    """The hour must fall inside business hours on the next workday, the only time anything is posted."""
    day = now.astimezone(workspace_tz).date()
    for _ in range(7):
        if day.weekday() in hours.days:
            break
        day += timedelta(days=1)
    opens = datetime.combine(day, hours.start, tzinfo=workspace_tz)
    closes = datetime.combine(day, hours.end, tzinfo=workspace_tz) if hours.end != time.max else \
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=workspace_tz)
    if any(opens <= datetime.combine(day + timedelta(days=k), at, tzinfo=person_tz) < closes for k in (-1, 0, 1)):
        return
    window = f"{hours.start:%H:%M}–{_end(hours):%H:%M}"
    if person_tz.key == workspace_tz.key:
        raise PaceError(f"{at:%H:%M} is outside business hours ({window}), when Rapport posts. Choose a time from "
                        f"{hours.start:%H:%M} to before {_end(hours):%H:%M}.")
    raise PaceError(f"{at:%H:%M} your time ({person_tz.key}) is outside business hours ({window} "
                    f"{workspace_tz.key}), when Rapport posts. Choose a time from {opens.astimezone(person_tz):%H:%M} "
                    f"to before {closes.astimezone(person_tz):%H:%M} your time.")


def _end(hours: BusinessHours) -> time:
    return time(0) if hours.end == time.max else hours.end


def apply(session: Session, workspace_id: int, user_id: str, change: Change, person_tz: ZoneInfo,
          now: datetime) -> PersonPace:
    """Write a checked change: the person's timezone is kept with an hour or a pause, which are read in it."""
    row = pace_for_update(session, workspace_id, user_id, now)
    if change.cards is not None:
        row.cards = change.cards
    if change.at is not None:
        row.at = f"{change.at:%H:%M}"
    if change.pause_until is not None:
        row.paused_until = change.pause_until
    if change.resume:
        row.paused_until = None
    if change.at is not None or change.pause_until is not None:
        row.tz = person_tz.key
    row.updated_at = now
    return row


def describe(pace: Pace, hours: BusinessHours, workspace_tz: ZoneInfo, now: datetime) -> str:
    """'up to 3 cards a workday, from 10:30 your time (Europe/London).' and the pause, if any: what follows "Your
    pace: " in `/client me` and App Home."""
    cards = f"up to {pace.cards} card{'s' if pace.cards != 1 else ''} a workday" + \
        (" (the workspace's most)" if pace.cards == pace.cap else f" (the workspace allows {pace.cap})")
    when = (f", from {pace.at:%H:%M} your time ({pace.tz.key})" if pace.at is not None else
            f", from the start of business hours ({hours.start:%H:%M} {workspace_tz.key})")
    said = cards + when + "."
    if pace.paused(now):
        assert pace.paused_until is not None
        said += f" Paused: no cards before {Days.at(now, pace.tz)(pace.paused_until)}, when they start again."
    return said
