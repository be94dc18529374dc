"""One email or calendar message as Rapport reads it: metadata only (PRODUCT.md §4.15).

Reading (raw RFC 822, a mail provider's webhook body, an mbox, an `.ics` file) turns what arrives into these;
recording matches them to clients and writes touches. Nothing here can hold a subject, a body or an
attachment, so nothing downstream can store or log one by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


class MalformedMailError(ValueError):
    """What arrived cannot be read as mail of the shape it claims; the message is one line a sender can act on
    (a webhook answers it with a 400)."""


@dataclass(frozen=True)
class Meeting:
    """One VEVENT of an iTIP message (RFC 5546): an invitation, an update of one, or its cancellation.

    Times are timezone-aware UTC; a time the invitation gave without a zone has already been read in the zone it
    defines (its VTIMEZONE, Windows names included), else left for the recorder to read in the workspace's zone
    (`floating`). `zone` is the IANA name the event's times were written in, so that occurrences of a repeating
    meeting keep their local time across daylight-saving changes.
    """

    uid: str
    method: Literal["REQUEST", "CANCEL"]
    sequence: int
    start: datetime | None  # None only on a CANCEL that carries no DTSTART
    end: datetime | None
    all_day: bool
    recurrence_id: datetime | None  # the one occurrence an update or a CANCEL concerns
    rrule: str | None  # as written, e.g. "FREQ=WEEKLY;BYDAY=TU;COUNT=10"
    exdates: tuple[datetime, ...]
    zone: str | None  # IANA name of the zone the times were written in
    floating: bool  # the times carried no zone and the invitation defined none
    organizer: str | None  # an address, lowercased
    attendees: tuple[str, ...]  # addresses, lowercased, each once


@dataclass(frozen=True)
class ParsedMail:
    """The metadata of one message. Addresses are lowercased and each appears once."""

    identity: str  # hex SHA-256 of the Message-ID, else of sender, date and recipients
    sender: str | None  # From's address
    recipients: tuple[str, ...]  # To and Cc (Bcc never arrives)
    sent_at: datetime  # timezone-aware UTC: the Date header, else when it was received
    automated: str | None  # why this is not a person's message ("auto-reply", "bulk", "list"), else None
    forwarded: ParsedMail | None  # the message this one forwards, read from a message/rfc822 part or the
    #                               forwarded header block; recording decides whether to count it instead
    meetings: tuple[Meeting, ...]  # from text/calendar parts and .ics attachments
