"""The starts of a repeating meeting, so each occurrence can count as it passes (PRODUCT.md §4.15).

The rule is expanded by dateutil's rrule (the engine icalendar itself uses) in wall-clock time of the
meeting's own zone and each start is then placed in that zone, so a weekly 09:00 in Berlin stays 09:00 across
the change to summer time (07:00 UTC in July, 08:00 UTC in January) instead of drifting an hour.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice

from dateutil.rrule import rrulestr

from bot.capture.mail.parsed import Meeting
from bot.capture.mail.zones import zone

MAX_OCCURRENCES = 50_000  # of one rule, counted from its first start: a daily meeting for 130 years
_UNTIL = re.compile(r"(?i)(^|;)UNTIL=([0-9TZ]+)")


def occurrences(meeting: Meeting, after: datetime, until: datetime, zone_if_floating: str) -> list[datetime]:
    """The starts of `meeting` in (after, until], as aware UTC, EXDATEs removed. A meeting that does not
    repeat has its one start; a cancellation (no start) has none. A floating or all-day meeting is read in
    `zone_if_floating` (the workspace's zone). A rule that cannot be read counts as no repetition."""
    if meeting.start is None:
        return []
    place = _place(meeting, zone_if_floating)
    first = _local(meeting.start, meeting.floating, place)
    excluded = {_local(value, meeting.floating, place).astimezone(UTC) for value in meeting.exdates}
    starts = [first.astimezone(UTC)]
    if meeting.rrule:
        starts = _expand(meeting.rrule, first, place, until) or starts
    return [start for start in starts if after < start <= until and start not in excluded]


def _place(meeting: Meeting, zone_if_floating: str) -> tzinfo:
    name = zone_if_floating if meeting.floating else meeting.zone
    return zone(name) or UTC


def _local(value: datetime, floating: bool, place: tzinfo) -> datetime:
    if floating:
        return value.replace(tzinfo=None).replace(tzinfo=place)
    return value.astimezone(place)


def _expand(rule: str, first: datetime, place: tzinfo, until: datetime) -> list[datetime]:
    wall = first.replace(tzinfo=None)
    try:
        expanded = rrulestr(_wall_until(rule, place), dtstart=wall, forceset=False)
    except (ValueError, TypeError, OverflowError, KeyError, IndexError):
        return []
    horizon = until.astimezone(place).replace(tzinfo=None) + timedelta(days=1)
    starts = []
    try:
        for start in islice(expanded, MAX_OCCURRENCES):
            if start > horizon:
                break
            starts.append(start.replace(tzinfo=place).astimezone(UTC))
    except (ValueError, OverflowError):  # a rule that runs past year 9999
        pass
    return starts


def _wall_until(rule: str, place: tzinfo) -> str:
    """The rule with its UNTIL in the same wall-clock time as the start, as dateutil wants it for a start
    without a zone. RFC 5545 writes UNTIL in UTC for a zoned start, as a date for an all-day one."""

    def local(match: re.Match[str]) -> str:
        value = match.group(2).upper()
        try:
            if len(value) == 8:
                when = datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
            elif value.endswith("Z"):
                when = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(place)
            else:
                when = datetime.strptime(value, "%Y%m%dT%H%M%S")
        except ValueError:
            return match.group(0)
        return f"{match.group(1)}UNTIL={when.strftime('%Y%m%dT%H%M%S')}"

    return _UNTIL.sub(local, rule.strip().removeprefix("RRULE:"))
