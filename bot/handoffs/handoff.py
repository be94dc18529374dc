"""Handing a client to a new owner with ceremony (PRODUCT.md §4.13), unlike `/client owner`, which is the quiet
change: the open promises, issues and goals go with the client; the previous owner is asked to introduce the new
one to the primary contact; for 90 days the quiet threshold is halved and the new owner is asked how it goes at
30, 60 and 90 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import audit
from bot.relationship import thresholds
from bot.relationship.cards import answer_nudges
from bot.relationship.facts import spell_start
from storage.commitments import open_commitments
from storage.contacts import primary_contact
from storage.handoffs import INTRO_KINDS, move_open_goals, scheduled_handoffs, unhandled_nudges
from storage.models import Client, Handoff

HALVED_FOR = timedelta(days=90)
CHECKIN_DAYS = (30, 60, 90)
INTRO_REMINDER_WORKDAYS = 2
CHECKIN_KIND = "handoff_checkin"
KINDS = (*INTRO_KINDS, CHECKIN_KIND)
INTRODUCED = "introduced them"


@dataclass(frozen=True)
class Moved:
    handoff: Handoff
    promises: int  # open promises and issues, now the new owner's to keep
    issues: int
    goals: int  # open goals moved to the new owner
    contact: str | None  # the primary contact to introduce the new owner to


def hand_off(session: Session, client: Client, to_user: str, note: str | None, by: str, now: datetime) -> Moved:
    """The client, with everything open, to `to_user`; the ceremony's schedule starts now."""
    for earlier in scheduled_handoffs(session, client.id):
        earlier.next_check_at = None  # handed on again: the last handoff's ceremony is the one that counts
    answer_nudges(session, unhandled_nudges(session, client.id, KINDS), "handed on again", by, now)
    handoff = Handoff(workspace_id=client.workspace_id, client_id=client.id, from_user=client.owner_id,
                      to_user=to_user, note=note, at=now, by=by, intro_reminded=False, checkins=0, next_check_at=now)
    session.add(handoff)
    client.owner_id = to_user
    client.halved_until = now + HALVED_FOR
    if not client.quiet_nudges:  # not quiet yet: the halved threshold applies to this spell too
        threshold = thresholds.Threshold(client.quiet_threshold_days, client.quiet_threshold_how)
        client.next_quiet_at = thresholds.first_quiet_due(spell_start(client), threshold, client.halved_until)
    goals = move_open_goals(session, client.id, to_user)
    audit.record(session, client.workspace_id, by, "handoff", now, client_id=client.id, detail=to_user)
    contact = primary_contact(session, client.id)
    kinds = [c.kind for c in open_commitments(session, client.id)]
    return Moved(handoff, kinds.count("promise"), kinds.count("issue"), goals, contact.name if contact else None)


def introduced_by_click(session: Session, handoff: Handoff | None, user_id: str, now: datetime) -> None:
    """*Introduced* on the card: whoever pressed it says the introduction happened."""
    if handoff is not None and handoff.introduced_at is None:
        handoff.introduced_at, handoff.introduced_by = now, user_id
        answer_nudges(session, unhandled_nudges(session, handoff.client_id, INTRO_KINDS), INTRODUCED, user_id, now)



def is_halved(client: Client, now: datetime) -> bool:
    return client.halved_until is not None and now < client.halved_until
