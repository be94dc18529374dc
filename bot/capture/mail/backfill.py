"""`rapport import-mail PATH`: history from an mbox file, `.eml` or `.ics` files, or a folder of them (PRODUCT.md
§4.15), streamed: a batch of messages is read, recorded and committed before the next is read, so memory stays
flat however big the mailbox. Run twice, it records nothing new (each touch is once per client by its digest).

Imported messages are not added to the last 7 days' counts (`/client mail`, App Home): those say what live capture
did; the import's report says what it did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.matching import SKIP_WORDS, UNREADABLE, original_of
from bot.capture.mail.parsed import MalformedMailError, Meeting, ParsedMail
from bot.capture.mail.readers import read_calendar, read_mailbox, read_mime
from bot.capture.mail.record import CAPTURED, record, record_meetings, whole_directory
from bot.capture.mail.summary import CAPTURED_WORDS
from bot.capture.mail.touches import Pending, settle
from storage.mail import clients_by_ids
from storage.mail import recorded_clients as recorded

BATCH = 500  # messages a transaction
SETTLE = 200  # clients brought up to date a transaction, at the end


@dataclass(frozen=True)
class Calendar:
    """An `.ics` file's events, which arrived when the file was last written."""

    meetings: tuple[Meeting, ...]
    arrived_at: datetime


@dataclass(frozen=True)
class Unread:
    where: str
    reason: str


Item = ParsedMail | Calendar | Unread


@dataclass
class Report:
    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    unread: list[Unread] = field(default_factory=list)

    def summary(self) -> str:
        recorded = sum(n for k, n in self.outcomes.items() if k in CAPTURED)
        skipped = {k: n for k, n in self.outcomes.items() if k not in CAPTURED}
        parts = [f"{n:,} {CAPTURED_WORDS[k][n != 1]}" for k, n in self.outcomes.most_common() if k in CAPTURED]
        line = f"read {self.read:,}; recorded {recorded:,}" + (f" ({', '.join(parts)})" if parts else "")
        line += f"; skipped {sum(skipped.values()):,}"
        if skipped:
            line += ": " + "; ".join(f"{n:,} {SKIP_WORDS.get(k, k)}" for k, n in
                                     sorted(skipped.items(), key=lambda kv: -kv[1]))
        return line


def files_in(path: Path) -> list[Path]:
    """A file, or every file under a folder (hidden ones left out), in name order."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".")
                                                                         for part in p.relative_to(path).parts))


def items(path: Path, received_at: datetime) -> Iterator[Item]:
    """What each file holds, one message (or calendar) at a time: `.eml` one message, `.ics` a calendar, anything
    else an mbox."""
    for file in files_in(path):
        suffix = file.suffix.lower()
        try:
            if suffix == ".eml":
                yield read_mime(file.read_bytes(), received_at)
            elif suffix == ".ics":
                mtime = datetime.fromtimestamp(file.stat().st_mtime, UTC)
                yield Calendar(read_calendar(file.read_bytes()), min(mtime, received_at))
            else:
                for found in read_mailbox(file, received_at):
                    yield found if isinstance(found, ParsedMail) else Unread(file.name, str(found.reason))
        except MalformedMailError as exc:
            yield Unread(file.name, " ".join(str(exc).split()))
        except OSError as exc:
            yield Unread(file.name, exc.strerror or type(exc).__name__)


def backfill(sessions: sessionmaker[Session], workspace_id: int, found: Iterable[Item], *, now: datetime,
             zone: ZoneInfo, progress: Callable[[int], object] = lambda _n: None, batch: int = BATCH) -> Report:
    """Touches are written a batch per transaction; the clients they touched are brought up to date once each at the
    end (a few hundred a transaction), not once a batch."""
    report = Report()
    pending = Pending()
    chunk: list[Item] = []
    for item in found:
        chunk.append(item)
        if len(chunk) >= batch:
            _commit(sessions, workspace_id, chunk, now, zone, report, pending)
            progress(len(chunk))
            chunk = []
    if chunk:
        _commit(sessions, workspace_id, chunk, now, zone, report, pending)
        progress(len(chunk))
    while pending.clients:
        with sessions.begin() as session:
            settle(session, pending, now, limit=SETTLE)
    return report


def _commit(sessions: sessionmaker[Session], workspace_id: int, chunk: list[Item], now: datetime, zone: ZoneInfo,
            report: Report, pending: Pending) -> None:
    """One batch, one transaction: all of it is recorded, or (an outage) none of it and the import stops. A copy a
    concurrent delivery wrote first fails the batch's fast path, which then runs again a message at a time."""
    for careful in (False, True):
        attempt = Pending()
        try:
            outcomes = _record_batch(sessions, workspace_id, chunk, now, zone, attempt, careful)
        except IntegrityError:
            if careful:
                raise
            continue
        break
    for client_id, held in attempt.clients.items():
        mine = pending.clients.setdefault(client_id, held)
        if mine is not held:
            mine.merge(held)
    report.read += len(chunk)
    report.outcomes += outcomes
    report.unread += [item for item in chunk if isinstance(item, Unread)]


def _record_batch(sessions: sessionmaker[Session], workspace_id: int, chunk: list[Item], now: datetime,
                  zone: ZoneInfo, pending: Pending, careful: bool) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    with sessions.begin() as session:
        directory = whole_directory(session, workspace_id)  # read again each batch: contacts may change meanwhile
        # every client the directory can name, in one read and held for the batch (the session keeps them weakly)
        held = clients_by_ids(session, {k.client_id for ks in directory.contacts.values() for k in ks}
                              | set(directory.domains.values()))
        mails = [item for item in chunk if isinstance(item, ParsedMail)]
        known = None if careful else recorded(session, workspace_id,
                                              [original_of(m, directory).identity for m in mails])
        for item in chunk:
            if isinstance(item, Unread):
                outcomes[UNREADABLE] += 1
            elif isinstance(item, Calendar):
                outcomes[record_meetings(session, workspace_id, item.meetings, directory, arrived_at=item.arrived_at,
                                         now=now, zone=zone, pending=pending) if item.meetings else UNREADABLE] += 1
            else:
                outcomes[record(session, workspace_id, item, directory, arrived_at=item.sent_at, now=now, zone=zone,
                                pending=pending, known=known)] += 1
    del held
    return outcomes
