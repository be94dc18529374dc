"""One raw RFC 822 message (the `mime` webhook, SMTP, an `.eml`, one message of an mbox) to its metadata.

Parsed by the standard library's `email` package. Its policy is compat32, not `default`, on measurement:
`default` builds a structured object for every header it touches, and its Content-Type parser alone takes
about 5 ms for a small multipart message (0.4 ms with compat32; an mbox of 100,000 messages, most of them
multipart/alternative, would take most of an hour), its address-list parser is quadratic (20,000 recipients
take 15 s) and its Date header returns a naive datetime for "-04:00". Nothing of `default` is used here
anyway: addresses, dates, Message-ID and markers are read from the raw fields by this package (headers.py,
addresses.py), which is what `default` was meant to make safe. Its MIME structure is walked for
calendar parts (text/calendar, application/ics, `.ics` attachments), attached messages (message/rfc822, an
`.eml` attachment) and text parts (read only for a forwarded header block); a digest's or a delivery
report's inner messages are not forwards. Anything past the header fields that cannot be walked is left
out rather than making the message unreadable.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

from bot.capture.mail.assemble import Found, assemble
from bot.capture.mail.forwarded import text_of_html
from bot.capture.mail.headers import Headers
from bot.capture.mail.parsed import MalformedMailError, ParsedMail

MAX_DEPTH = 8  # messages attached in attached messages…; the innermost original is never deeper in practice
MAX_PARTS = 500
MAX_TEXTS = 4


def read_mime(raw: bytes, received_at: datetime, *, fallback_date: datetime | None = None) -> ParsedMail:
    """The metadata of one RFC 822 message. `fallback_date` (an mbox separator's date) is used before
    `received_at` when the Date header cannot be read. Raises MalformedMailError only when the message has no
    readable From, To, Cc or invitation."""
    return read_message(_parse(raw), received_at, fallback_date=fallback_date)


def read_message(
    message: Message, received_at: datetime, *, fallback_date: datetime | None = None, depth: int = 0
) -> ParsedMail:
    found = Found()
    html: list[str] = []
    with contextlib.suppress(Exception):  # a structure the library cannot walk: keep what was found before it
        _collect(message, found, html, received_at, depth, within=None, budget=[MAX_PARTS])
    found.texts.extend(text_of_html(markup) for markup in html[:MAX_TEXTS])
    return assemble(
        Headers.of_message(message),
        received_at,
        found=found,
        content_type=_content_type(message),
        fallback_date=fallback_date,
    )


def _parse(raw: bytes) -> Message:
    try:
        return BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception:  # RecursionError on absurd nesting, among others: the header fields may still be read
        try:
            return BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        except Exception:
            raise MalformedMailError("the message cannot be parsed as RFC 822") from None


def _collect(
    part: Message,
    found: Found,
    html: list[str],
    received_at: datetime,
    depth: int,
    *,
    within: str | None,
    budget: list[int],
) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        return
    kind = _content_type(part)
    if kind == "message/rfc822":
        if within is None and depth < MAX_DEPTH:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                _attach(inner[0], found, received_at, depth)
        return
    if part.is_multipart():
        if kind == "multipart/digest":
            within = "digest"
        elif kind == "multipart/report":
            within = "report"
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _collect(sub, found, html, received_at, depth, within=within, budget=budget)
        return
    name = (_filename(part) or "").lower()
    if kind in ("text/calendar", "application/ics") or name.endswith((".ics", ".vcs")):
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            found.calendars.append((data, _param(part, "method")))
        return
    if name.endswith(".eml") and within is None and depth < MAX_DEPTH:
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            _attach(_parse(data), found, received_at, depth)
        return
    if kind in ("text/plain", "text/html") and not name and len(found.texts) + len(html) < 2 * MAX_TEXTS:
        text = _text(part)
        if text:
            (found.texts if kind == "text/plain" else html).append(text)


def attach_message(found: Found, data: bytes, received_at: datetime) -> None:
    """A provider's attachment that is a message (message/rfc822, an .eml): read it as a forward's original.
    An attachment that turns out to be no message is no forward."""
    with contextlib.suppress(MalformedMailError):
        found.attached.append(read_mime(data, received_at))


def _attach(inner: Message, found: Found, received_at: datetime, depth: int) -> None:
    with contextlib.suppress(MalformedMailError):  # an attachment that is not a message is no forward
        found.attached.append(read_message(inner, received_at, depth=depth + 1))


def _text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = (_param(part, "charset") or "utf-8").lower()
    try:
        return data.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def _content_type(part: Message) -> str:
    """What get_content_type says, read from the raw field once (the library reads it again per call)."""
    raw = _raw(part, "content-type")
    if raw is None:
        return part.get_default_type()
    kind = raw.split(";", 1)[0].strip().lower()
    main, slash, sub = kind.partition("/")
    return kind if slash and main and sub and "/" not in sub else "text/plain"


def _param(part: Message, name: str) -> str | None:
    match = re.search(rf'(?i)(?:^|;)\s*{name}\s*=\s*"?([^";\s]+)', _raw(part, "content-type") or "")
    return match.group(1) if match else None


def _filename(part: Message) -> str | None:
    if _raw(part, "content-disposition") is None and _param(part, "name") is None:
        return None
    try:
        return part.get_filename()
    except Exception:
        return None


def _raw(part: Message, name: str) -> str | None:
    return next((str(value) for key, value in part.raw_items() if key.lower() == name), None)
