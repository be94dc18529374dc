"""From what a reader found in a message to its ParsedMail: one set of rules for every way mail arrives.

Raw MIME, Postmark's JSON, SendGrid's and Mailgun's forms and an mbox all hand over their header fields and
whatever of the body matters (text parts, only to find a forwarded header block; calendar parts; attached
messages), and get the same sender, recipients, date, identity and automated reason for the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.capture.mail.addresses import addresses_in_headers, normalize_address, unique
from bot.capture.mail.automated import automated_reason
from bot.capture.mail.calendar import read_calendar
from bot.capture.mail.forwarded import forwarded_in
from bot.capture.mail.headers import Headers, message_id, parse_date_in_its_zone, plausible, says_forwarded
from bot.capture.mail.identity import identity_of
from bot.capture.mail.parsed import MalformedMailError, Meeting, ParsedMail


@dataclass
class Found:
    """What a reader found in a message besides its header fields."""

    texts: list[str] = field(default_factory=list)  # text parts, plain before HTML-as-text
    calendars: list[tuple[bytes, str | None]] = field(default_factory=list)  # (iCalendar, MIME method=)
    attached: list[ParsedMail] = field(default_factory=list)  # messages attached as message/rfc822


def assemble(
    headers: Headers,
    received_at: datetime,
    *,
    found: Found | None = None,
    content_type: str | None = None,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
    fallback_date: datetime | None = None,
) -> ParsedMail:
    """The ParsedMail of one message. `sender`/`recipients`, when a provider hands them over already split
    (Postmark's FromFull/ToFull/CcFull), take the place of From/To/Cc; `fallback_date` (an mbox separator's
    date) comes before `received_at` when the Date header cannot be read. Raises MalformedMailError only when
    nothing is readable: no sender, no recipient and no meeting."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    found = found or Found()
    who = normalize_address(sender) if sender else _sender(headers)
    to = unique(normalize_address(a) for a in recipients) if recipients is not None else _recipients(headers)
    meetings = _meetings(found.calendars)
    if who is None and not to and not meetings:
        raise MalformedMailError("the message has no readable From, To or Cc address")
    written = headers.first("date")
    zoned = parse_date_in_its_zone(written)
    when = plausible(None if zoned is None else _utc(zoned), received_at)
    fallback = plausible(fallback_date, received_at)
    sent_at = when or fallback or received_at.astimezone(UTC)
    forwarded = next((mail.forwarded or mail for mail in found.attached), None) or forwarded_in(
        found.texts,
        says_it_forwards=says_forwarded(headers.first("subject")),
        at=zoned if when is not None and zoned is not None else sent_at,
        received_at=received_at,
    )
    return ParsedMail(
        identity=identity_of(message_id(headers.first("message-id")), who, when or written or fallback, to),
        sender=who,
        recipients=to,
        sent_at=sent_at,
        automated=automated_reason(headers, sender=who, content_type=content_type),
        forwarded=forwarded,
        meetings=meetings,
    )


def _sender(headers: Headers) -> str | None:
    for name in ("from", "sender"):
        found = addresses_in_headers(headers.all(name))
        if found:
            return found[0]
    return None


def _recipients(headers: Headers) -> tuple[str, ...]:
    return addresses_in_headers([*headers.all("to"), *headers.all("cc")])


def _meetings(calendars: list[tuple[bytes, str | None]]) -> tuple[Meeting, ...]:
    meetings: list[Meeting] = []
    for ics, method in calendars:
        try:
            meetings.extend(read_calendar(ics, method))
        except MalformedMailError:
            continue  # a broken calendar part does not make the message unreadable
    return tuple(dict.fromkeys(meetings))  # Outlook sends the same invitation inline and as invite.ics


def _utc(when: datetime) -> datetime | None:
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
