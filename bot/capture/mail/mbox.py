"""An mbox file, one message at a time, in memory that does not grow with the file.

The standard library's `mailbox.mbox` first builds a table of contents of the whole file and then reads each
message whole, attachments included; this reader goes through the file once, line by line, and keeps of each
message only its header block, and its body only when the body can matter (a multipart message may carry an
invitation or an attached message; a single text part only a forwarded header block, and only when the
subject says it forwards). Memory is that of one message.

A separator is a line `From <sender> <asctime date>` (mboxo, mboxrd, mboxcl, Gmail Takeout's
`From 123@xxx Wed Jan 10 12:34:56 +0000 2024`). A body line "From time to time" is not one, quoted or not. A
file whose first line is a `From ` line of another shape is read the lax way: any `From ` line after a blank
line separates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

from bot.capture.mail.headers import says_forwarded

MAX_LINE = 1024 * 1024  # a longer line is read in pieces
MAX_HEADER = 1024 * 1024  # a header block past this is cut (its message is read from what came first)
MAX_BODY = 25 * 1024 * 1024  # a kept body past this is dropped (the message is read from its header block)

_SEPARATOR = re.compile(
    rb"^From \S+\s+(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"\s+(?:([+-]\d{4})\s+|[A-Za-z]{1,5}\s+)?(\d{4})\b"
)
_MONTHS = {m: n for n, m in enumerate(b"jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_BODY_MATTERS = re.compile(rb"(?im)^content-type:[ \t]*(?:multipart/|text/calendar|application/ics|message/rfc822)")
_SUBJECT = re.compile(rb"(?im)^subject:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")
_QUOTED_FROM = re.compile(rb"^>(>*From )")


@dataclass(frozen=True)
class MboxMessage:
    number: int  # 1-based position in the file
    offset: int  # where its separator line starts
    data: bytes  # its header block, and its body when the body can matter
    separator_date: datetime | None  # the separator line's date (UTC), for a message whose Date is unreadable


def mbox_messages(stream: BinaryIO) -> Iterator[MboxMessage]:
    """The messages of an mbox stream, from its first separator on."""
    first = stream.readline(MAX_LINE)
    if not first.startswith(b"From "):
        return
    lax = _SEPARATOR.match(first) is None
    number, offset, separator = 1, 0, first
    header: list[bytes] = []
    body: list[bytes] | None = None  # None: still in the header block
    keep = False
    size = 0
    previous_blank = False
    at_line_start = True
    while True:
        position = stream.tell()
        line = stream.readline(MAX_LINE)
        if not line:
            break
        starts = at_line_start
        at_line_start = line.endswith(b"\n")
        if starts and line.startswith(b"From ") and (_SEPARATOR.match(line) if not lax else previous_blank):
            yield _message(number, offset, separator, header, body)
            number, offset, separator = number + 1, position, line
            header, body, keep, size, previous_blank = [], None, False, 0, False
            continue
        blank = starts and line.strip() == b""
        if body is None:
            if blank:
                body = []
                keep = _body_matters(b"".join(header))
            elif size < MAX_HEADER:
                header.append(line)
                size += len(line)
        elif keep:
            size += len(line)
            if size > MAX_HEADER + MAX_BODY:
                keep, body = False, []
            else:
                body.append(_QUOTED_FROM.sub(rb"\1", line) if starts else line)
        previous_blank = blank
    yield _message(number, offset, separator, header, body)


def count_mbox(stream: BinaryIO) -> int:
    """How many messages mbox_messages will yield, by the same separators, without reading them."""
    first = stream.readline(MAX_LINE)
    if not first.startswith(b"From "):
        return 0
    lax = _SEPARATOR.match(first) is None
    count, previous_blank, at_line_start = 1, False, True
    for line in iter(lambda: stream.readline(MAX_LINE), b""):
        starts = at_line_start
        at_line_start = line.endswith(b"\n")
        if starts and line.startswith(b"From ") and (_SEPARATOR.match(line) if not lax else previous_blank):
            count += 1
        previous_blank = starts and line.strip() == b""
    return count


def _message(number: int, offset: int, separator: bytes, header: list[bytes], body: list[bytes] | None) -> MboxMessage:
    data = b"".join(header)
    if body:
        data += b"\n" + b"".join(body)
    return MboxMessage(number=number, offset=offset, data=data, separator_date=_separator_date(separator))


def _body_matters(header: bytes) -> bool:
    if _BODY_MATTERS.search(header):
        return True
    subject = _SUBJECT.search(header)
    return subject is not None and says_forwarded(subject.group(1).decode("utf-8", "replace"))


def _separator_date(line: bytes) -> datetime | None:
    match = _SEPARATOR.match(line)
    if match is None:
        return None
    month, day, hour, minute, second, offset, year = match.groups()
    try:
        zone = UTC
        if offset:
            sign = -1 if offset[:1] == b"-" else 1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        when = datetime(
            int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second or 0), tzinfo=zone
        )
        return when.astimezone(UTC)
    except (KeyError, ValueError, OverflowError):
        return None
