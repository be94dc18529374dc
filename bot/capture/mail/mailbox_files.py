"""What `rapport import-mail PATH` reads: an mbox file, an `.eml`, an `.ics`, or a folder of them.

A folder is read recursively in sorted order (hidden files and folders skipped, symbolic links not followed);
each file is recognised by its first bytes, whatever its name (Thunderbird's mbox files and Maildir's
messages have no extension): a `From ` line is an mbox, `BEGIN:VCALENDAR` a calendar, header lines a single
message. In a folder, a file that is none of these and whose name does not claim to be is skipped silently
(a README, `.DS_Store`); one named `.mbox`, `.eml`, `.ics`… that is not is reported as Unreadable.

A Maildir (a folder with `cur/` or `new/` in it) is read as its mail folders: the messages in `cur/` and `new/`
(each one reported if it is not mail), and its other folders: Maildir++'s hidden ones (Dovecot's and Courier's
`.Sent`, `.Archive.2024`) and Dovecot's `fs` layout (`Sent/`), each a Maildir of its own. Nothing else in a Maildir
is mail: `tmp/` (deliveries not finished), Dovecot's index and control files, Courier's keyword folder. Our own
sent mail matters as much as what came in (unanswered outreach is ours).

In a folder, mailboxes whose name says they hold no correspondence are left out and named in the report: Trash
(deleted, including deleted drafts), Junk and Spam, Drafts, Templates and the Outbox (never sent). Given as PATH
itself, any of them is read.

An `.ics` file is a ParsedMail of meetings alone: no sender, no recipients, sent when it was read
(`received_at`), its identity the digest of its events' method, UID, RECURRENCE-ID and SEQUENCE (the same
file imported twice is one; an update of it, with a higher SEQUENCE, another).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from bot.capture.mail.calendar import MAX_CALENDAR_BYTES, read_calendar
from bot.capture.mail.identity import calendar_identity
from bot.capture.mail.mbox import count_mbox, mbox_messages
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail

MAX_EML = 50 * 1024 * 1024  # past this an .eml is read from its header block alone
MBOX_SUFFIXES = frozenset({".mbox", ".mbx", ".mbs"})
MAIL_SUFFIXES = MBOX_SUFFIXES | {".eml", ".ics", ".vcs", ".msg"}
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


@dataclass
class Folders:
    """The mail folders an import read and those it left out (with why), in the order met, for its report."""

    read: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def saw(self, name: str) -> None:
        if name not in self.read:
            self.read.append(name)

    def line(self, most: int = 30) -> str:
        """`Folders read: INBOX, Sent, Archive; left out: Trash (deleted mail), Junk (spam)`."""
        line = "Folders read: " + _listed(self.read, most) if self.read else "No mail folder read"
        if self.left_out:
            line += "; left out: " + _listed([f"{name} ({why})" for name, why in self.left_out], most)
        return line


# What a mailbox holds when its name is one of these (any case): left out of a folder's import.
LEFT_OUT = {
    **dict.fromkeys(("trash", "bin", "deleted", "deleted items", "deleted messages"), "deleted mail"),
    **dict.fromkeys(("junk", "junk e-mail", "junk email", "spam", "bulk mail"), "spam"),
    **dict.fromkeys(("drafts", "templates", "outbox"), "never sent"),
}
MAILDIR_MESSAGES = ("cur", "new")  # a Maildir's messages; its `tmp/` holds deliveries not finished


def read_mailbox(
    path: Path, received_at: datetime, *, progress: Progress | None = None, folders: Folders | None = None
) -> Iterator[ParsedMail | Unreadable]:
    """Every message under `path`, streamed. `progress` is called with the bytes read since its last call
    (tqdm's `update`), adding up to `mailbox_bytes(path)`; `folders`, when given, is told each mail folder read
    (a Maildir folder, an mbox file, a folder of `.eml` or `.ics` files) and each left out."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    for found in _walk(path):
        if isinstance(found, _LeftOut):
            if folders is not None:
                folders.left_out.append((found.name, found.why))
            continue
        kinds: list[Kind] = []
        for item in _read_file(found.file, found.named, received_at, progress, kinds.append):
            if folders is not None and isinstance(item, ParsedMail):
                # an mbox file is a mail folder of its own (Thunderbird's); a single message is its folder's
                folders.saw(found.mailbox if kinds == ["mbox"] else found.folder)
            yield item


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
    """(file, whether it must be reported when it is not mail), for every file read_mailbox reads."""
    for found in _walk(path):
        if isinstance(found, _File):
            yield found.file, found.named


@dataclass(frozen=True)
class _File:
    file: Path
    named: bool  # reported when it is not mail: its name says mail, or it sits in a Maildir's cur/ or new/
    folder: str  # the mail folder it is part of, as the report names it
    mailbox: str  # the file as a mail folder, when it is an mbox


@dataclass(frozen=True)
class _LeftOut:
    name: str
    why: str


def _walk(path: Path) -> Iterator[_File | _LeftOut]:
    if not path.is_dir():
        yield _File(path, True, path.parent.name, path.name)
    elif _is_maildir(path):
        # a Maildir++ top (it has hidden folders) holds the INBOX; any other Maildir is the folder it is named
        top = any(e.name.startswith(".") and e.is_dir(follow_symlinks=False) and _is_maildir(Path(e.path))
                  for e in _entries(path))
        yield from _maildir(path, path, "INBOX" if top else path.name.removeprefix("."))
    else:
        yield from _folder(path, path)


def _folder(root: Path, folder: Path) -> Iterator[_File | _LeftOut]:
    """A plain folder: its files, and its folders (a Maildir among them read as one)."""
    for entry in _entries(folder):
        if entry.name.startswith("."):
            continue
        here = Path(entry.path)
        name = _name(root, here)
        suffix = here.suffix.lower()
        if entry.is_dir(follow_symlinks=False):
            why = _left_out(entry.name)
            if why is not None:
                yield _LeftOut(name, why)
            else:
                yield from _maildir(root, here, name) if _is_maildir(here) else _folder(root, here)
        elif entry.is_file(follow_symlinks=False):
            # a mailbox file (Thunderbird's have no extension) named Trash, Junk…; not a single message so named
            why = _left_out(here.stem) if suffix in MBOX_SUFFIXES or not suffix else None
            if why is not None:
                yield _LeftOut(name, why)
            else:
                yield _File(here, suffix in MAIL_SUFFIXES, _name(root, folder), name)


def _maildir(root: Path, maildir: Path, name: str) -> Iterator[_File | _LeftOut]:
    """A Maildir's messages (cur/ then new/), then its folders: Maildir++'s hidden `.Sent`, `.Archive.2024`, and
    Dovecot's `fs` layout's `Sent/`. Nothing else here is mail (tmp/, dovecot.index*, dovecot-uidlist,
    courierimapkeywords/, maildirfolder…)."""
    for part in MAILDIR_MESSAGES:
        for entry in _entries(maildir / part):
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                yield _File(Path(entry.path), True, name, name)
    for entry in _entries(maildir):
        if entry.name in (*MAILDIR_MESSAGES, "tmp") or not entry.is_dir(follow_symlinks=False):
            continue
        here = Path(entry.path)
        if not _is_maildir(here):
            continue
        # Maildir++ names a folder by its path from the top, dot-separated: `.Archive.2024`, `.INBOX.Trash`
        parts = entry.name[1:].split(".") if entry.name.startswith(".") else [entry.name]
        shown = _name(root, here)
        why = next((w for w in map(_left_out, parts) if w is not None), None)
        if why is not None:
            yield _LeftOut(shown, why)
        else:
            yield from _maildir(root, here, shown)


def _is_maildir(folder: Path) -> bool:
    return any((folder / part).is_dir() and not (folder / part).is_symlink() for part in MAILDIR_MESSAGES)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return []


def _left_out(name: str) -> str | None:
    return LEFT_OUT.get(name.strip().lower())


def _name(root: Path, path: Path) -> str:
    """How the report names a mail folder: its path from the one imported (a Maildir++ folder without its dot);
    the imported folder itself by its own name."""
    relative = path.relative_to(root)
    return "/".join(part.removeprefix(".") for part in relative.parts) or root.name


def _listed(names: list[str], most: int) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


def _read_file(
    file: Path, named: bool, received_at: datetime, progress: Progress | None,
    seen: Callable[[Kind], None] = lambda _kind: None,
) -> Iterator[ParsedMail | Unreadable]:
    try:
        with file.open("rb") as stream:
            kind = _kind(stream.read(4096))
            stream.seek(0)
            if kind is not None:
                seen(kind)
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
