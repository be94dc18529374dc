"""Header fields as every reader hands them over: raw MIME, a provider's header list, a forwarded block.

Values are kept as text (unfolded; raw 8-bit bytes read as UTF-8) and parsed only for what Rapport keeps:
addresses, the date, the Message-ID and the markers of automated mail. The subject is looked at only to tell
whether the message says it forwards another; it never leaves this package.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parsedate_tz

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_COLON_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})(\s*\([^()]*\))?\s*$")  # Postmark's documented "-04:00"
_TRAILING_COMMENT = re.compile(r"\s*\([^()]*\)?\s*$")  # "(PDT)", or a comment cut short
# "Fwd:", "FW:", and the prefixes of the languages Outlook and Gmail ship (WG, TR, RV, I, ENC, Doorst, VS, VL).
_FORWARD_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|fw|wg|tr|rv|i|enc|doorst|vs|vl)\s*:", re.IGNORECASE)

_ZONED = re.compile(r"[+-]\d{4}$")
_ZONE_NAMES = frozenset({"UT", "UTC", "GMT", "Z", "AST", "ADT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"})

EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
# A Date header this far after the message arrived is a wrong clock, not a message from the future.
CLOCK_SKEW = timedelta(days=1)


def utf8(text: str) -> bytes:
    """Text from a form or JSON as the bytes it came from: raw bytes a caller kept as surrogates
    (surrogateescape) come back as they were; any other lone surrogate (JSON allows "\\ud800") is replaced."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def text_of(value: object) -> str:
    """A header value as text: raw 8-bit bytes (kept by the parser as surrogates) are read as UTF-8."""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = utf8(text).decode("utf-8", "replace")
    return _FOLD.sub("", text).strip()


class Headers:
    """The header fields of one message in their order; names are case-insensitive and may repeat."""

    def __init__(self, pairs: Iterable[tuple[object, object]]) -> None:
        self._pairs = [(text_of(name).lower(), text_of(value)) for name, value in pairs]

    @classmethod
    def of_message(cls, message: Message) -> Headers:
        # raw_items: every value is parsed by this package (the library's structured parsers are quadratic in
        # a long address list, read "-04:00" as a naive time and raise on some hostile values).
        return cls(message.raw_items())

    def first(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self._pairs if key == name and value), None)

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self._pairs if key == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(key == name.lower() for key, _ in self._pairs)

    def __bool__(self) -> bool:
        return bool(self._pairs)


def parse_date(raw: str | None) -> datetime | None:
    """An RFC 5322 date as aware UTC, or None when it cannot be read or names no zone.

    `-0000` is UTC by RFC 5322 §3.3. An offset written `-04:00` (Postmark's documented sample) is read as
    `-0400`; the standard library would silently return a naive datetime for it.
    """
    when = parse_date_in_its_zone(raw)
    try:
        return None if when is None else when.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at a positive offset is before the first instant
        return None


def parse_date_in_its_zone(raw: str | None) -> datetime | None:
    """As parse_date, but at the offset the date was written with (a forwarded block's date without a zone
    is read at the offset of the message that forwards it)."""
    if not raw or len(raw) > 200:  # a date is some thirty characters; a longer one is not worth reading
        return None
    text = raw.strip()
    match = _COLON_OFFSET.search(text)
    if match:
        text = f"{text[: match.start()]}{match.group(1)}{match.group(2)}{match.group(3)}"
    else:
        text = _TRAILING_COMMENT.sub("", text)
    try:
        parts = parsedate_tz(text)
    except Exception:  # parsedate_tz raises on some hostile values instead of returning None
        parts = None
    if parts is None:
        return _iso(text)
    *fields, offset = parts
    if not _ZONED.search(text) and (text.split() or [""])[-1].upper() not in _ZONE_NAMES:
        return None  # parsedate_tz reads a date that names no zone as UTC
    if offset is None:
        if not text.endswith("-0000"):
            return None
        offset = 0
    try:
        if abs(offset) >= 24 * 3600:
            return None
        year, month, day, hour, minute, second = fields[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(seconds=offset)))
    except (ValueError, OverflowError, TypeError):
        return None


def plausible(when: datetime | None, received_at: datetime) -> datetime | None:
    """`when` if a message could have been sent then: not before 1970, not after it arrived (give or take a
    day of clock skew)."""
    if when is None or when < EARLIEST or when > received_at + CLOCK_SKEW:
        return None
    return when


def says_forwarded(subject: str | None) -> bool:
    """Whether a subject carries a forward prefix ("Fwd:", "FW:", "WG:"…). The subject goes no further."""
    if not subject:
        return False
    if "=?" in subject:
        with contextlib.suppress(Exception):
            subject = str(make_header(decode_header(subject)))
    return bool(_FORWARD_PREFIX.match(subject))


def message_id(raw: str | None) -> str | None:
    """The Message-ID without its angle brackets, or None when there is none worth the name."""
    if not raw:
        return None
    text = raw.strip()
    start, end = text.find("<"), text.find(">")
    if 0 <= start < end:
        text = text[start + 1 : end]
    text = "".join(text.split())  # a folded or mangled id still names the same message
    if not text or len(text) > 998:
        return None
    return text


def _iso(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if when.tzinfo is None else when
