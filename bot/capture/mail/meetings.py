"""Meetings from invitations (PRODUCT.md §4.15 *Calendars*): an iTIP REQUEST with a client among its organiser
and attendees is a meeting at its start, the client card's next meeting, and a two-way `meeting` touch once it has
started; an update (a SEQUENCE at least as high) moves it; a CANCEL of its UID (and RECURRENCE-ID, for one
occurrence) removes it, and is a `cancel` warning sign (§6) when it arrives less than 24 hours before the start or
after it.

A meeting is kept per client by a digest of its UID and the occurrence a row overrides (never the UID, subject or
description). A repeating meeting's occurrences become touches as they pass: `next_touch_at` is the next start not
yet a touch, and each sweep writes those that have started (`materialise_due`). Touches are keyed by occurrence, so
writing one twice, or a moved occurrence and its series both, records it once.

Decided where the contract is silent: a cancellation by an organiser on our own side is not the client's warning
sign (it still removes the meeting); a series cancelled as a whole is a sign only when its next occurrence was less
than 24 hours away (the occurrences already past happened); occurrences more than 400 days old when first seen are
not written as touches (they are older than anything Rapport shows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.matching import UNMATCHED, Directory, Side, meeting_clients, organised_by_us
from bot.capture.mail.parsed import Meeting
from bot.capture.mail.readers import occurrences, settle_floating
from bot.capture.mail.touches import Pending, digest, settle, write
from storage.mail import due_meetings, mail_touch, meetings_with_uid, recorded_clients, set_skipped, skipped_of
from storage.models import Client, Contact, MailMeeting

log = logging.getLogger(__name__)

MEETING, CANCELLED, UNCHANGED = "meeting", "cancelled", "already recorded"
LAST_MINUTE = timedelta(hours=24)
HISTORY = timedelta(days=400)
LOOKAHEAD = (timedelta(days=40), timedelta(days=400), timedelta(days=4000))  # where the next occurrence is sought
PAGE = 100  # meetings a sweep's transaction writes the started occurrences of


def instant(at: datetime) -> str:
    """An occurrence as the rows and digests name it: its start (or RECURRENCE-ID) in UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Arrival:
    session: Session
    workspace_id: int
    directory: Directory
    arrived_at: datetime  # when the invitation or cancellation reached us (now, when that is not known)
    known: bool  # whether it is known: a bare `.ics` file says nothing of when it arrived

    def late(self, start: datetime) -> bool:
        """Less than 24 hours before the start, or after it (§6): never said of an arrival nobody knows."""
        return self.known and self.arrived_at >= start - LAST_MINUTE
    now: datetime
    pending: Pending


def record_meeting(session: Session, workspace_id: int, meeting: Meeting, directory: Directory, *,
                   arrived_at: datetime | None, now: datetime, zone: ZoneInfo, pending: Pending) -> str:
    """One VEVENT of an invitation; what became of it: MEETING, CANCELLED, or why nothing changed."""
    meeting = settle_floating(meeting, zone.key)  # times with no zone of their own: the workspace's
    uid = digest("uid", meeting.uid)
    recurrence = instant(meeting.recurrence_id) if meeting.recurrence_id else ""
    here = _Arrival(session, workspace_id, directory, min(arrived_at or now, now), arrived_at is not None, now,
                    pending)
    rows = {(r.client_id, r.recurrence): r for r in meetings_with_uid(session, workspace_id, uid)}
    sides = meeting_clients(meeting, directory)
    if meeting.method == "CANCEL":
        return _cancel(here, meeting, uid, recurrence, sides, rows)
    if not sides or meeting.start is None:
        return UNMATCHED
    changed = False
    for side in sides:
        client = session.get(Client, side.client_id)
        if client is not None and _request(here, meeting, uid, recurrence, side, client, rows):
            changed = True
    return MEETING if changed else UNCHANGED


def _request(here: _Arrival, meeting: Meeting, uid: str, recurrence: str, side: Side, client: Client,
             rows: dict[tuple[int, str], MailMeeting]) -> bool:
    assert meeting.start is not None
    row = rows.get((client.id, recurrence))
    if row is not None and (meeting.sequence < row.sequence or
                            (row.cancelled_at is not None and meeting.sequence <= row.sequence)):
        return False  # an older version of what we hold, or of what was cancelled since
    skipped = {instant(x) for x in meeting.exdates}
    if not recurrence:  # the event itself: its occurrences that other rows override or cancel are not its own
        skipped |= {r for (c, r) in rows if c == client.id and r}
        if row is not None:
            skipped |= set(skipped_of(row)) - {instant(x) for x in meeting.exdates}
    shape = (meeting.sequence, meeting.start, meeting.end, meeting.all_day, meeting.rrule, meeting.zone)
    if row is not None and row.cancelled_at is None and \
            shape == (row.sequence, row.start, row.end, row.all_day, row.rrule, row.zone) and \
            sorted(skipped) == skipped_of(row):
        return False  # the same invitation again
    if row is None:
        row = MailMeeting(workspace_id=here.workspace_id, client_id=client.id, uid_digest=uid, recurrence=recurrence,
                          created_at=here.now)
        here.session.add(row)
        rows[(client.id, recurrence)] = row
    row.sequence, row.start, row.end, row.all_day, row.rrule, row.zone = shape
    row.contact_id = side.contact_id or row.contact_id
    row.cancelled_at, row.updated_at = None, here.now
    set_skipped(row, skipped)
    master = rows.get((client.id, "")) if recurrence else None
    if master is not None:  # this occurrence is moved: the series no longer holds it
        set_skipped(master, {*skipped_of(master), recurrence})
    _schedule(here, row, client)
    return True


def _schedule(here: _Arrival, row: MailMeeting, client: Client) -> None:
    """Where the row's touches stand after it changed: a single meeting moved into the future takes its touch back;
    one that has started is (or becomes) a touch; a series writes what has passed since it started (or HISTORY)."""
    if row.rrule:
        row.next_touch_at = max(row.start, here.now - HISTORY)
    else:
        row.next_touch_at = row.start
        done = mail_touch(here.session, client.id, _touch_digest(row.uid_digest, row.recurrence))
        if done is not None and row.start > here.now:
            here.session.delete(done)
            here.pending.refresh(client)
        elif done is not None:
            if done.occurred_at != row.start:
                done.occurred_at = row.start
                here.pending.refresh(client)
            row.next_touch_at = None
    materialise(here.session, row, here.now, here.pending, client)


def _touch_digest(uid: str, occurrence: str) -> str:
    return digest("meeting", uid, occurrence)


def _meeting_of(row: MailMeeting) -> Meeting:
    return Meeting(uid=row.uid_digest, method="REQUEST", sequence=row.sequence, start=row.start, end=row.end,
                   all_day=row.all_day, recurrence_id=None, rrule=row.rrule, exdates=(), zone=row.zone, floating=False,
                   organizer=None, attendees=())


def starts_between(row: MailMeeting, after: datetime, until: datetime) -> list[datetime]:
    """The row's occurrences starting in [after, until], those overridden or cancelled left out."""
    if not row.rrule:
        return [row.start] if after <= row.start <= until else []
    skipped = set(skipped_of(row))
    try:
        found = occurrences(_meeting_of(row), after - timedelta(seconds=1), until, "UTC")  # (after, until]
    except Exception:  # a rule the calendar library cannot expand: its first occurrence is all we know
        log.warning("a repeating meeting's rule could not be expanded; only its first occurrence counts")
        found = [row.start]
    return sorted({at for at in found if after <= at <= until and instant(at) not in skipped})


def next_start(row: MailMeeting, after: datetime) -> datetime | None:
    """The row's first occurrence starting after `after`, if there is one (looking further each time)."""
    if not row.rrule:
        return row.start if row.start > after else None
    for ahead in LOOKAHEAD:
        found = [at for at in starts_between(row, after, after + ahead) if at > after]
        if found:
            return found[0]
    return None


def materialise(session: Session, row: MailMeeting, now: datetime, pending: Pending, client: Client | None = None
                ) -> int:
    """The row's occurrences that have started and are not touches yet, written as two-way `meeting` touches;
    how many were new."""
    if row.cancelled_at is not None or row.next_touch_at is None or row.next_touch_at > now:
        return 0
    client = client or session.get(Client, row.client_id)
    if client is None:
        return 0
    if row.rrule:
        starts = starts_between(row, row.next_touch_at, now)
        keys = [instant(at) for at in starts]
        row.next_touch_at = next_start(row, now)
    else:
        starts, keys = [row.start], [row.recurrence]
        row.next_touch_at = None
    digests = [_touch_digest(row.uid_digest, key) for key in keys]
    done = recorded_clients(session, row.workspace_id, digests)
    contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
    written = 0
    for at, mail_digest in zip(starts, digests, strict=True):
        if (client.id, mail_digest) not in done and \
                write(session, client, "meeting", "both", at, mail_digest, row.contact_id, now):
            pending.add(client, "both", at, primary=bool(contact and contact.is_primary))
            written += 1
    return written


def _cancel(here: _Arrival, meeting: Meeting, uid: str, recurrence: str, sides: list[Side],
            rows: dict[tuple[int, str], MailMeeting]) -> str:
    """A CANCEL, by UID (and RECURRENCE-ID): it may carry no DTSTART, so the start it is measured against is the
    one the invitation gave us."""
    ours = organised_by_us(meeting, here.directory)
    if not rows:  # never saw the invitation: only the cancellation's own start, if it has one, can tell
        start = meeting.recurrence_id or meeting.start
        if not sides or start is None:
            return UNMATCHED
        for side in sides:
            client = here.session.get(Client, side.client_id)
            if client is not None and not ours and here.late(start):
                _sign(here, client, uid, recurrence, side.contact_id)
        return CANCELLED
    upcoming: dict[int, list[datetime]] = {}  # per client: the starts this cancellation takes away
    late: dict[int, bool] = {}  # per client: whether something it takes away had started, or was a day away
    cancelled = False
    for (client_id, row_recurrence), row in sorted(rows.items()):
        client = here.session.get(Client, client_id)
        if client is None:
            continue
        if not recurrence or row_recurrence == recurrence:  # the whole event, or this very occurrence's row
            if row.cancelled_at is not None:
                continue
            whole_series = not recurrence and (row.rrule is not None or row_recurrence != "")
            if whole_series:
                nxt = next_start(row, here.arrived_at) if row.rrule else (
                    row.start if row.start >= here.arrived_at else None)
                if nxt is not None:
                    upcoming.setdefault(client_id, []).append(nxt)
            else:
                late[client_id] = late.get(client_id, False) or here.late(row.start)
                _untouch(here, client, row.uid_digest, row_recurrence)
            row.cancelled_at, row.next_touch_at, row.updated_at = here.arrived_at, None, here.now
            cancelled = True
        elif row_recurrence == "" and row.rrule and (client_id, recurrence) not in rows:
            # one occurrence of the series, which no row of its own overrides: the series skips it from now on
            if recurrence in skipped_of(row):
                continue
            set_skipped(row, {*skipped_of(row), recurrence})
            assert meeting.recurrence_id is not None
            late[client_id] = late.get(client_id, False) or here.late(meeting.recurrence_id)
            _untouch(here, client, row.uid_digest, recurrence)
            if row.next_touch_at is not None:
                row.next_touch_at = next_start(row, row.next_touch_at - timedelta(seconds=1))
            row.updated_at = here.now
            cancelled = True
    for client_id, starts in upcoming.items():
        late[client_id] = late.get(client_id, False) or here.late(min(starts))
    if not ours:
        for client_id, is_late in sorted(late.items()):
            client = here.session.get(Client, client_id)
            if is_late and client is not None:
                held = rows.get((client_id, recurrence)) or rows.get((client_id, ""))
                _sign(here, client, uid, recurrence, held.contact_id if held else None)
    return CANCELLED if cancelled else UNCHANGED


def _untouch(here: _Arrival, client: Client, uid: str, occurrence: str) -> None:
    """A cancelled occurrence that had already become a touch: it did not happen."""
    done = mail_touch(here.session, client.id, _touch_digest(uid, occurrence))
    if done is not None:
        here.session.delete(done)
        here.pending.refresh(client)


def _sign(here: _Arrival, client: Client, uid: str, recurrence: str, contact_id: int | None) -> None:
    """A last-minute cancellation (§6): from their side, when it arrived; once however often it arrives."""
    if write(here.session, client, "cancel", "in", here.arrived_at, digest("cancel", uid, recurrence), contact_id,
             here.now):
        here.pending.add(client, "in", here.arrived_at, words="cancel")


def materialise_due(sessions: sessionmaker[Session], now: datetime) -> int:
    """Each sweep: every meeting occurrence that has started since the last one becomes a touch, a page of meetings
    to a short transaction; how many touches were written."""
    written, after = 0, 0
    while True:
        with sessions.begin() as session:
            page = due_meetings(session, now, PAGE, after)
            if not page:
                return written
            pending = Pending()
            for row in page:
                written += materialise(session, row, now, pending)
            settle(session, pending, now)
            after = page[-1].id
