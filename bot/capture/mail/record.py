"""Recording one message for one workspace (PRODUCT.md §4.15): its touches, or why it made none, and the day's
counts. Whoever calls owns the transaction: a webhook or an SMTP delivery is one message, one transaction; a
backfill commits a batch at a time. Stored: who (the client, the matched contact, the side), when, the kind and a
digest — never a subject, body, attachment or an address that matched nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.capture.mail.matching import DUPLICATE, Directory, Known, candidates, decide, original_of
from bot.capture.mail.meetings import CANCELLED, MEETING, UNCHANGED, record_meeting
from bot.capture.mail.parsed import Meeting, ParsedMail
from bot.capture.mail.touches import Pending, settle, write
from bot.nudges.cards import message_updates
from bot.relationship.cards import UPDATES
from bot.slack.message_updates import MessageUpdate
from storage.mail import add_counts, all_contact_emails, domain_clients, our_domains, who_is
from storage.models import Client, Contact

EMAIL = "email"
CAPTURED = (EMAIL, MEETING, CANCELLED)  # outcomes that are captured; every other outcome is a reason for skipping


def addresses_in(mail: ParsedMail) -> list[str | None]:
    """Every address the message, what it forwards and its invitations name."""
    found: list[str | None] = []
    for message in _chain(mail):
        found += [message.sender, *message.recipients]
        for meeting in message.meetings:
            found += [meeting.organizer, *meeting.attendees]
    return found


def _chain(mail: ParsedMail) -> Iterable[ParsedMail]:
    current: ParsedMail | None = mail
    while current is not None:
        yield current
        current = current.forwarded


def _directory(contacts: Sequence[Contact], domains: dict[str, int], ours: Sequence[str]) -> Directory:
    by_address: dict[str, list[Known]] = {}
    for contact in contacts:
        if contact.email:
            by_address.setdefault(contact.email, []).append(Known(contact.client_id, contact.id, contact.is_primary))
    return Directory({a: tuple(k) for a, k in by_address.items()}, domains, frozenset(ours))


def directory_for(session: Session, workspace_id: int, addresses: Iterable[str | None]) -> Directory:
    """What the workspace knows of these addresses only: a message's worth of look-ups, by index, in one
    statement."""
    emails, domains = candidates(addresses)
    found = who_is(session, workspace_id, emails, domains)
    by_address: dict[str, list[Known]] = {}
    for email, client_id, contact_id, primary in found.contacts:
        by_address.setdefault(email, []).append(Known(client_id, contact_id, primary))
    return Directory({a: tuple(k) for a, k in by_address.items()}, found.domains, frozenset(found.ours))


def whole_directory(session: Session, workspace_id: int) -> Directory:
    """Everything the workspace knows of addresses, for a backfill read once a batch."""
    return _directory(all_contact_emails(session, workspace_id), domain_clients(session, workspace_id),
                      our_domains(session, workspace_id))


def record(session: Session, workspace_id: int, mail: ParsedMail, directory: Directory, *,
           arrived_at: datetime | None,
           now: datetime, zone: ZoneInfo, pending: Pending, known: set[tuple[int, str]] | None = None) -> str:
    """One message: what became of it (EMAIL, MEETING, CANCELLED, or the reason it was skipped). The clients it
    touched wait in `pending` for `settle`. `known`: see touches.write (a backfill's batch); a client a known copy
    was for is settled again too, so running a backfill again brings up to date what a broken run left."""
    original = original_of(mail, directory)
    if original.meetings:  # an invitation is its meetings, not an email besides
        return record_meetings(session, workspace_id, original.meetings, directory, arrived_at=arrived_at, now=now,
                               zone=zone, pending=pending)
    verdict = decide(original, directory)
    if verdict.skipped is not None:
        return verdict.skipped
    at = min(verdict.original.sent_at, now)  # a message cannot have been sent after it reached us
    identity = verdict.original.identity
    done = known if known is not None else set()  # alone, the insert itself finds a copy already recorded
    wrote = False
    for touch in verdict.touches:
        client = session.get(Client, touch.client_id)
        if client is None:
            continue
        if (client.id, identity) in done:
            if known is not None:
                pending.add(client, touch.direction, at, primary=touch.primary)
            continue
        if write(session, client, EMAIL, touch.direction, at, identity, touch.contact_id, now, known):
            pending.add(client, touch.direction, at, primary=touch.primary)
            wrote = True
    return EMAIL if wrote else DUPLICATE


def record_meetings(session: Session, workspace_id: int, meetings: Sequence[Meeting], directory: Directory, *,
                    arrived_at: datetime | None, now: datetime, zone: ZoneInfo, pending: Pending) -> str:
    """Each VEVENT of one invitation (an event and the occurrences it moves); one outcome for the whole."""
    outcomes = [record_meeting(session, workspace_id, meeting, directory, arrived_at=arrived_at, now=now, zone=zone,
                               pending=pending) for meeting in meetings]
    for wanted in (CANCELLED, MEETING, UNCHANGED):
        if wanted in outcomes:
            return DUPLICATE if wanted == UNCHANGED else wanted
    return outcomes[0]


def record_one(session: Session, workspace_id: int, mail: ParsedMail, *, arrived_at: datetime, now: datetime,
               zone: ZoneInfo) -> tuple[str, list[MessageUpdate]]:
    """A message that arrived on its own (a webhook, an SMTP delivery), in the caller's transaction: its touches and
    what they change; and the posted cards it closed, to bring up to date once committed. The day's count is the
    caller's to add after the commit (`count`): every message of a day adds to one row, and holding its lock for
    a whole recording would queue every delivery behind the one before."""
    pending = Pending()
    outcome = record(session, workspace_id, mail, directory_for(session, workspace_id, addresses_in(mail)),
                     arrived_at=arrived_at, now=now, zone=zone, pending=pending)
    settle(session, pending, now)
    return outcome, (message_updates(session, workspace_id) if session.info.get(UPDATES) else [])


def count(session: Session, workspace_id: int, outcomes: Counter[str], now: datetime, zone: ZoneInfo) -> None:
    add_counts(session, workspace_id, now.astimezone(zone).date().isoformat(), outcomes)
