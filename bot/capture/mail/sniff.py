"""Which attachments of a provider's webhook matter: calendars and attached messages.

Postmark and SendGrid say each attachment's content type and name; Mailgun's forward() hands over only the
files, so their first bytes tell.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Literal

Kind = Literal["calendar", "message"] | None

_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:[ \t]?[^\r\n]*\r?$")
_MESSAGE_FIELDS = (b"from:", b"to:", b"date:", b"message-id:", b"subject:")


def attachment_kind(content_type: str, filename: str) -> tuple[Kind, str | None]:
    """What an attachment is by its declared type and name, and a calendar's iTIP method (`method=`)."""
    message = Message()
    message["Content-Type"] = content_type or "application/octet-stream"
    try:
        kind = message.get_content_type()
        method = message.get_param("method")
    except Exception:
        kind, method = "application/octet-stream", None
    name = filename.strip().lower()
    if kind in ("text/calendar", "application/ics") or name.endswith((".ics", ".vcs")):
        return "calendar", method if isinstance(method, str) else None
    if kind == "message/rfc822" or name.endswith(".eml"):
        return "message", None
    return None, None


def sniffed_kind(data: bytes) -> Kind:
    """What an attachment is by its first bytes: an iCalendar stream, or an RFC 822 message (header lines
    naming at least two of From, To, Date, Message-ID, Subject before the first blank line)."""
    head = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:15].upper() == b"BEGIN:VCALENDAR":
        return "calendar"
    seen = 0
    for line in head.split(b"\n")[:200]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_LINE.match(line):
            return None
        seen += line.lower().startswith(_MESSAGE_FIELDS)
    return "message" if seen >= 2 else None
