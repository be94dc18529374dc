"""Invitations, their updates and cancellations, read from iTIP calendars (RFC 5546) with icalendar.

What a meeting is called, where it is and what it says are never read out: a Meeting is who, when and which
event (UID, RECURRENCE-ID, SEQUENCE).

- METHOD REQUEST and PUBLISH are invitations (an update is the same UID with a higher SEQUENCE; choosing the
  newest is the recorder's, which sees them all); CANCEL cancels its UID, or one occurrence of it by
  RECURRENCE-ID, and often carries no DTSTART (libical's iTIP examples: a CANCEL with neither DTSTART nor a
  SEQUENCE as high as the REQUEST's). An event whose STATUS is CANCELLED is a cancellation whatever the
  method. REPLY, COUNTER, REFRESH, DECLINECOUNTER and ADD change no meeting and are skipped.
- A calendar without METHOD (an `.ics` file) takes the MIME part's `method=` when there is one, else is an
  invitation.
- Times: a TZID is read in the invitation's own VTIMEZONE (icalendar), Windows names included; a time with
  no zone is read in the zone the invitation defines (its VTIMEZONE, else X-WR-TIMEZONE), else it stays
  floating: written as if UTC with `floating` set, for `settle_floating` to read in the workspace's zone.
  All-day events are floating dates (a day is the workspace's day).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from icalendar import Calendar

from bot.capture.mail.addresses import address_of_uri, unique
from bot.capture.mail.parsed import MalformedMailError, Meeting
from bot.capture.mail.zones import iana_name, zone

MAX_CALENDAR_BYTES = 5 * 1024 * 1024
MAX_EVENTS = 1000  # per calendar stream: an invitation holds a handful, a series with its exceptions dozens

_INVITES = frozenset({"REQUEST", "PUBLISH"})
_SKIPPED = frozenset({"REPLY", "COUNTER", "REFRESH", "DECLINECOUNTER", "ADD"})


def read_calendar(ics: bytes, method_hint: str | None = None) -> tuple[Meeting, ...]:
    """Every invitation and cancellation in an iCalendar stream (one VCALENDAR or several, as libical's and
    mail clients' files hold them). Raises MalformedMailError when the bytes are not iCalendar at all; an
    event that cannot be read (no UID, no start on an invitation, a broken date) is skipped."""
    if len(ics) > MAX_CALENDAR_BYTES:
        raise MalformedMailError(f"the calendar is larger than {MAX_CALENDAR_BYTES // (1024 * 1024)} MiB")
    text = ics.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise MalformedMailError("the calendar does not begin with BEGIN:VCALENDAR")
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except Exception as error:  # icalendar raises ValueError and, on hostile input, a few others
        raise MalformedMailError(f"the calendar cannot be read ({type(error).__name__})") from None
    meetings: list[Meeting] = []
    for calendar in calendars:
        for meeting in _meetings_of(calendar, method_hint):
            meetings.append(meeting)
            if len(meetings) >= MAX_EVENTS:
                return tuple(dict.fromkeys(meetings))
    return tuple(dict.fromkeys(meetings))


def settle_floating(meeting: Meeting, zone_name: str) -> Meeting:
    """A floating meeting read in `zone_name` (the workspace's zone), so its times are real instants; any
    other meeting as it is. An unknown zone name is read as UTC."""
    if not meeting.floating:
        return meeting
    here = zone(zone_name)
    place: tzinfo = here if here is not None else UTC

    def settle(value: datetime) -> datetime:
        return value.replace(tzinfo=None).replace(tzinfo=place).astimezone(UTC)

    return dataclasses.replace(
        meeting,
        start=None if meeting.start is None else settle(meeting.start),
        end=None if meeting.end is None else settle(meeting.end),
        recurrence_id=None if meeting.recurrence_id is None else settle(meeting.recurrence_id),
        exdates=tuple(settle(value) for value in meeting.exdates),
        zone=zone_name if here is not None else "UTC",
        floating=False,
    )


def _meetings_of(calendar: Any, method_hint: str | None) -> Iterator[Meeting]:
    method = _method(str(calendar.get("METHOD", "") or "") or method_hint or "")
    if method is None:
        return
    defined = _defined_zone(calendar)
    for event in calendar.walk("VEVENT"):
        try:
            meeting = _meeting(event, method, defined)
        except Exception:  # one broken event does not hide the others
            continue
        if meeting is not None:
            yield meeting


def _method(value: str) -> Literal["REQUEST", "CANCEL"] | None:
    value = value.strip().upper()
    if value == "CANCEL":
        return "CANCEL"
    if value in _SKIPPED:
        return None
    return "REQUEST"  # REQUEST, PUBLISH, none at all (an .ics file), or a method no client sends


def _defined_zone(calendar: Any) -> tuple[tzinfo, str | None] | None:
    """The zone an invitation defines for its times that carry none: its VTIMEZONE, else X-WR-TIMEZONE."""
    for component in calendar.walk("VTIMEZONE"):
        try:
            tzid = str(component.get("TZID", ""))
            return component.to_tz(), iana_name(tzid)
        except Exception:
            continue
    name = iana_name(str(calendar.get("X-WR-TIMEZONE", "") or ""))
    here = zone(name)
    return (here, name) if here is not None and name is not None else None


def _meeting(
    event: Any, method: Literal["REQUEST", "CANCEL"], defined: tuple[tzinfo, str | None] | None
) -> Meeting | None:
    uid = str(event.get("UID", "") or "").strip()
    if not uid:
        return None
    if str(event.get("STATUS", "") or "").strip().upper() == "CANCELLED":
        method = "CANCEL"
    start_value = _value(event, "DTSTART")
    if start_value is None and method == "REQUEST":
        return None
    all_day = isinstance(start_value, date) and not isinstance(start_value, datetime)
    local: tzinfo | None = None
    zone_name: str | None = None
    if isinstance(start_value, datetime) and start_value.tzinfo is not None:
        local = start_value.tzinfo
        zone_name = _zone_name(event, start_value)
    elif isinstance(start_value, datetime) and defined is not None:
        local, zone_name = defined
    start, floating = _instant(start_value, local)
    end = _end(event, start_value, local)
    exdates = tuple(instant for value in _values(event, "EXDATE") if (instant := _instant(value, local)[0]) is not None)
    recurrence_id, recurrence_floating = _instant(_value(event, "RECURRENCE-ID"), local)
    rrule = event.get("RRULE")
    if isinstance(rrule, list):
        rrule = rrule[0] if rrule else None
    return Meeting(
        uid=uid,
        method=method,
        sequence=_sequence(event.get("SEQUENCE")),
        start=start,
        end=end,
        all_day=all_day,
        recurrence_id=recurrence_id,
        rrule=None if rrule is None else rrule.to_ical().decode("utf-8", "replace"),
        exdates=exdates,
        zone=None if floating or all_day else zone_name,
        floating=floating if start_value is not None else recurrence_floating,
        organizer=_address(event.get("ORGANIZER")),
        attendees=unique(_address(value) for value in _list(event.get("ATTENDEE"))),
    )


def _value(event: Any, name: str) -> date | None:
    prop = event.get(name)
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def _values(event: Any, name: str) -> Iterator[date]:
    for prop in _list(event.get(name)):
        for item in getattr(prop, "dts", ()):
            value = getattr(item, "dt", None)
            if isinstance(value, date):
                yield value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _instant(value: date | None, local: tzinfo | None) -> tuple[datetime | None, bool]:
    """A DTSTART-like value as aware UTC, and whether it is floating (then written as if it were UTC)."""
    if value is None:
        return None, False
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), True
    if value.tzinfo is None:
        if local is None:
            return value.replace(tzinfo=UTC), True
        value = value.replace(tzinfo=local)
    return value.astimezone(UTC), False


def _end(event: Any, start_value: date | None, local: tzinfo | None) -> datetime | None:
    end_value = _value(event, "DTEND")
    if end_value is None and start_value is not None:
        duration = getattr(event.get("DURATION"), "dt", None)
        if isinstance(duration, timedelta):
            end_value = start_value + duration
        elif not isinstance(start_value, datetime):
            end_value = start_value + timedelta(days=1)  # RFC 5545 §3.6.1: an all-day event lasts its day
        else:
            end_value = start_value
    return _instant(end_value, local)[0]


def _zone_name(event: Any, start: datetime) -> str | None:
    tzid = event.get("DTSTART").params.get("TZID")
    if tzid:
        return iana_name(str(tzid))
    if start.utcoffset() == timedelta(0):
        return "UTC"
    key = getattr(start.tzinfo, "key", None)
    return key if isinstance(key, str) and zone(key) is not None else None


def _sequence(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def _address(value: Any) -> str | None:
    return None if value is None else address_of_uri(str(value))
