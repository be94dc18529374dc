"""`rapport import-mail PATH`: history from an mbox file, `.eml` or `.ics` files, or a folder of them (PRODUCT.md
§4.15; readers.read_mailbox reads them), streamed: a batch of messages is read, recorded and committed before the
next is read, so memory stays flat however big the mailbox. Run twice, it records nothing new (each touch is once
per client by its digest).

Imported messages are not added to the last 7 days' counts (`/client mail`, App Home): those say what live capture
did; the import's report says what it did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.matching import SKIP_WORDS, UNREADABLE, decide, original_of
from bot.capture.mail.parsed import ParsedMail
from bot.capture.mail.readers import Unreadable
from bot.capture.mail.record import CAPTURED, record, whole_directory
from bot.capture.mail.summary import CAPTURED_WORDS
from bot.capture.mail.touches import Pending, settle
from storage.mail import clients_by_ids
from storage.mail import recorded_clients as recorded

BATCH = 500  # messages a transaction
SETTLE = 200  # clients brought up to date a transaction, at the end


Item = ParsedMail | Unreadable


@dataclass
class Report:
    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    unread: list[Unreadable] = field(default_factory=list)

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
    report.unread += [item for item in chunk if isinstance(item, Unreadable)]


def _record_batch(sessions: sessionmaker[Session], workspace_id: int, chunk: list[Item], now: datetime,
                  zone: ZoneInfo, pending: Pending, careful: bool) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    with sessions.begin() as session:
        directory = whole_directory(session, workspace_id)  # read again each batch: contacts may change meanwhile
        mails = [original_of(item, directory) for item in chunk if not isinstance(item, Unreadable)]
        # the clients this batch's email touches, in one read, held for the batch (the session keeps them weakly)
        held = clients_by_ids(session, {t.client_id for m in mails if not m.meetings
                                        for t in decide(m, directory).touches})
        known = None if careful else recorded(session, workspace_id, [m.identity for m in mails])
        for item in chunk:
            if isinstance(item, Unreadable):
                outcomes[UNREADABLE] += 1
                continue
            # a calendar file with no message around it says nothing of when a cancellation arrived
            bare = item.sender is None and not item.recipients
            outcomes[record(session, workspace_id, item, directory, arrived_at=None if bare else item.sent_at,
                            now=now, zone=zone, pending=pending, known=known)] += 1
    del held
    return outcomes
