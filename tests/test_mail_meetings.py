"""Meetings from invitations (PRODUCT.md §4.15 *Calendars*), recorded as a reader hands them over and seen through
`/client status` and the sweep, on SQLite and PostgreSQL. The invitations are built as the reader's `Meeting`s (the
reading half of issue 31 turns iTIP into these; its fixtures are replayed through serve once it lands)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.capture.mail.meetings import materialise_due
from bot.capture.mail.parsed import Meeting, ParsedMail
from bot.capture.mail.record import record_one
from storage.models import Interaction, MailMeeting
from tests.mail_helpers import invitation, key_of, outcome, post_mail

OURS = "ana@agency.example"


def _invite(rapport, meeting: Meeting, arrived=None) -> str:
    """What the webhook does with a message carrying this invitation, once read."""
    arrived = arrived or rapport.clock.now
    mail = ParsedMail(identity=meeting.uid + meeting.method + str(meeting.sequence), sender="bob@acme.com",
                      recipients=(OURS,), sent_at=arrived, automated=None, forwarded=None, meetings=(meeting,))
    with rapport.database.sessions.begin() as session:
        workspace_id = session.scalar(select(MailMeeting.workspace_id)) or 1
        return record_one(session, workspace_id, mail, arrived_at=arrived, now=arrived, zone=ZoneInfo("UTC"))[0]


def _meeting(start, *, uid="m1@acme.com", method="REQUEST", sequence=0, rrule=None, recurrence_id=None,
             organizer="bob@acme.com") -> Meeting:
    return Meeting(uid=uid, method=method, sequence=sequence, start=start,
                   end=start + timedelta(hours=1) if start else None, all_day=False, recurrence_id=recurrence_id,
                   rrule=rrule, exdates=(), zone="Europe/London" if rrule else None, floating=False,
                   organizer=organizer, attendees=(OURS, "bob@acme.com"))


def _touches(rapport, kind):
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Interaction).where(Interaction.kind == kind)
                                    .order_by(Interaction.occurred_at)))


def _setup(rapport) -> None:
    rapport.command("add Acme Corp")
    rapport.command("domain acme acme.com")
    rapport.command("mail ours agency.example", user="UADMIN")


def test_an_invitation_is_the_next_meeting_then_a_two_way_touch_once_started(rapport):
    _setup(rapport)
    now = rapport.clock.now
    start = now + timedelta(days=2)
    assert _invite(rapport, _meeting(start)) == "meeting"
    assert "Next meeting" in rapport.command("status acme").text
    assert _touches(rapport, "meeting") == []
    assert _invite(rapport, _meeting(start + timedelta(hours=3), sequence=1)) == "meeting"  # moved
    assert _invite(rapport, _meeting(start, sequence=0)) == "already recorded"  # an older version changes nothing
    assert materialise_due(rapport.database.sessions, start + timedelta(hours=1)) == 0
    assert materialise_due(rapport.database.sessions, start + timedelta(hours=4)) == 1
    [touch] = _touches(rapport, "meeting")
    assert touch.direction == "both" and touch.occurred_at == start + timedelta(hours=3)
    assert materialise_due(rapport.database.sessions, start + timedelta(days=1)) == 0  # once


def test_a_repeating_meetings_occurrences_become_touches_as_they_pass(rapport):
    _setup(rapport)
    now = rapport.clock.now
    assert _invite(rapport, _meeting(now - timedelta(days=14), rrule="FREQ=WEEKLY;COUNT=6")) == "meeting"
    assert len(_touches(rapport, "meeting")) == 3  # the three that already happened, at once
    assert materialise_due(rapport.database.sessions, now + timedelta(days=8)) == 1
    assert materialise_due(rapport.database.sessions, now + timedelta(days=60)) == 2
    assert len(_touches(rapport, "meeting")) == 6


def test_a_cancellation_the_day_before_is_a_warning_sign_and_removes_the_meeting(rapport):
    _setup(rapport)
    now = rapport.clock.now
    start = now + timedelta(hours=20)
    _invite(rapport, _meeting(start))
    # libical's example: the CANCEL carries no DTSTART and a lower SEQUENCE than the REQUEST
    assert _invite(rapport, _meeting(None, method="CANCEL")) == "cancelled"
    [sign] = _touches(rapport, "cancel")
    assert sign.direction == "in"
    card = rapport.command("status acme").text
    assert "Next meeting" not in card and "Warning signs in the last 30 days: 1" in card
    assert _invite(rapport, _meeting(None, method="CANCEL")) == "already recorded"
    assert len(_touches(rapport, "cancel")) == 1
    assert materialise_due(rapport.database.sessions, start + timedelta(hours=2)) == 0  # it did not happen


def test_a_cancellation_well_ahead_or_by_our_side_is_no_warning_sign(rapport):
    _setup(rapport)
    now = rapport.clock.now
    _invite(rapport, _meeting(now + timedelta(days=5)))
    assert _invite(rapport, _meeting(None, method="CANCEL")) == "cancelled"
    _invite(rapport, _meeting(now + timedelta(hours=2), uid="ours@agency.example", organizer=OURS))
    assert _invite(rapport, _meeting(None, uid="ours@agency.example", method="CANCEL", organizer=OURS)) == "cancelled"
    assert _touches(rapport, "cancel") == []


def test_cancelling_one_occurrence_skips_it_and_leaves_the_series(rapport):
    _setup(rapport)
    now = rapport.clock.now
    first = now + timedelta(hours=12)
    _invite(rapport, _meeting(first, rrule="FREQ=DAILY;COUNT=3"))
    assert _invite(rapport, _meeting(None, method="CANCEL", recurrence_id=first)) == "cancelled"
    assert len(_touches(rapport, "cancel")) == 1  # less than a day ahead
    assert materialise_due(rapport.database.sessions, first + timedelta(days=3)) == 2


def test_a_cancel_through_the_webhook_is_a_warning_sign_inside_24_hours_and_not_outside(rapport):
    """The webhook passes when the cancellation arrived (its clock), and 24 hours is the line: a CANCEL 23h59 before
    the start is one `cancel` sign however often it is posted, one 24h01 before is none."""
    _setup(rapport)
    key = key_of(rapport)
    now = rapport.clock.now
    starts = {"late@acme.com": now + timedelta(hours=23, minutes=59),
              "early@acme.com": now + timedelta(hours=24, minutes=1)}
    for uid, start in starts.items():
        request = invitation("bob@acme.com", [OURS], now - timedelta(days=3), uid=uid, start=start)
        assert outcome(post_mail(rapport, "mime", key, bytes(request))) == "meeting"
    cancels = {uid: bytes(invitation("bob@acme.com", [OURS], now, uid=uid, method="CANCEL", sequence=1))
               for uid in starts}
    assert outcome(post_mail(rapport, "mime", key, cancels["early@acme.com"])) == "cancelled"
    assert _touches(rapport, "cancel") == []
    assert outcome(post_mail(rapport, "mime", key, cancels["late@acme.com"])) == "cancelled"
    [sign] = _touches(rapport, "cancel")
    assert sign.direction == "in" and sign.occurred_at == now
    assert outcome(post_mail(rapport, "mime", key, cancels["late@acme.com"])) == "already recorded"
    assert len(_touches(rapport, "cancel")) == 1
    card = rapport.command("status acme").text
    assert "Warning signs in the last 30 days: 1" in card and "Next meeting" not in card
