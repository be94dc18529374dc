"""What `rapport import-mail PATH` reads: an mbox file, an `.eml`, an `.ics`, or a folder of them.

A folder is read recursively in sorted order (hidden files and folders skipped, symbolic links not followed);
each file is recognised by its first bytes, whatever its name (Thunderbird's mbox files and Maildir's
messages have no extension): a `From ` line is an mbox, `BEGIN:VCALENDAR` a calendar, header lines a single
message. In a folder, a file that is none of these and whose name does not claim to be is skipped silently
(a README, `.DS_Store`); one named `.mbox`, `.eml`, `.ics`… that is not is reported as Unreadable.

An `.ics` file is a ParsedMail of meetings alone: no sender, no recipients, sent when it was read
(`received_at`), its identity the digest of its events' method, UID, RECURRENCE-ID and SEQUENCE (the same
file imported twice is one; an update of it, with a higher SEQUENCE, another).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from bot.capture.mail.calendar import MAX_CALENDAR_BYTES, read_calendar
from bot.capture.mail.identity import calendar_identity
from bot.capture.mail.mbox import count_mbox, mbox_messages
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail

MAX_EML = 50 * 1024 * 1024  # past this an .eml is read from its header block alone
MAIL_SUFFIXES = frozenset({".mbox", ".mbx", ".mbs", ".eml", ".ics", ".vcs", ".msg"})
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")

Kind = Literal["mbox", "eml", "ics"]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Unreadable:
    """Something in the path that could not be read as mail, for the import report. `why` is one line and
    never quotes the message."""

    path: Path
    number: int | None  # the message's position in an mbox file; None for a whole file
    why: str

    @property
    def where(self) -> str:
        return str(self.path) if self.number is None else f"{self.path}, message {self.number}"


def read_mailbox(
    path: Path, received_at: datetime, *, progress: Progress | None = None
) -> Iterator[ParsedMail | Unreadable]:
    """Every message under `path`, streamed. `progress` is called with the bytes read since its last call
    (tqdm's `update`), adding up to `mailbox_bytes(path)`."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    for file, named in _files(path):
        yield from _read_file(file, named, received_at, progress)


def count_messages(path: Path) -> int:
    """How many ParsedMail-or-Unreadable read_mailbox will yield (a progress bar's total), reading each mbox
    once for its separators only."""
    total = 0
    for file, named in _files(path):
        try:
            with file.open("rb") as stream:
                kind = _kind(stream.read(4096))
                stream.seek(0)
                if kind == "mbox":
                    total += count_mbox(stream)
                elif kind is not None or named:
                    total += 1
        except OSError:
            total += 1
    return total


def mailbox_bytes(path: Path) -> int:
    """The bytes read_mailbox will report through `progress`: a progress bar's total by size."""
    total = 0
    for file, _named in _files(path):
        try:
            total += file.stat().st_size
        except OSError:
            continue
    return total


def _files(path: Path) -> Iterator[tuple[Path, bool]]:
    """(file, whether it must be reported when it is not mail): the path itself always, a folder's files
    only when their name says mail."""
    if not path.is_dir():
        yield path, True
        return
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _files(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield Path(entry.path), Path(entry.name).suffix.lower() in MAIL_SUFFIXES


def _read_file(
    file: Path, named: bool, received_at: datetime, progress: Progress | None
) -> Iterator[ParsedMail | Unreadable]:
    try:
        with file.open("rb") as stream:
            kind = _kind(stream.read(4096))
            stream.seek(0)
            if kind is None:
                _report(progress, file.stat().st_size)
                if named:
                    yield Unreadable(file, None, "not an mbox file, a message (.eml) or a calendar (.ics)")
                return
            if kind == "mbox":
                done = 0
                for message in mbox_messages(stream):
                    position = stream.tell()
                    _report(progress, position - done)
                    done = position
                    try:
                        yield read_mime(message.data, received_at, fallback_date=message.separator_date)
                    except MalformedMailError as error:
                        yield Unreadable(file, message.number, str(error))
                _report(progress, file.stat().st_size - done)
                return
            data = stream.read(MAX_EML if kind == "eml" else MAX_CALENDAR_BYTES + 1)
            _report(progress, file.stat().st_size)
    except OSError as error:
        yield Unreadable(file, None, f"cannot be read ({error.strerror or type(error).__name__})")
        return
    try:
        yield _eml(data, received_at) if kind == "eml" else _ics(data, received_at)
    except MalformedMailError as error:
        yield Unreadable(file, None, str(error))


def _eml(data: bytes, received_at: datetime) -> ParsedMail:
    if len(data) >= MAX_EML:
        blank = _BLANK_LINE.search(data)
        data = data[: blank.start() if blank else len(data)]
    return read_mime(data, received_at)


def _ics(data: bytes, received_at: datetime) -> ParsedMail:
    meetings = read_calendar(data)
    if not meetings:
        raise MalformedMailError("the calendar holds no invitation or cancellation")
    keys = [
        (m.method, m.uid, "" if m.recurrence_id is None else m.recurrence_id.isoformat(), m.sequence) for m in meetings
    ]
    return ParsedMail(
        identity=calendar_identity(keys),
        sender=None,
        recipients=(),
        sent_at=received_at.astimezone(UTC),
        automated=None,
        forwarded=None,
        meetings=meetings,
    )


def _kind(head: bytes) -> Kind | None:
    if head.startswith(b"From "):
        return "mbox"
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:15].upper() == b"BEGIN:VCALENDAR":
        return "ics"
    if _HEADER_LINE.match(head):
        return "eml"
    return None


def _report(progress: Progress | None, size: int) -> None:
    if progress is not None and size > 0:
        progress(size)
