"""The advocate-first episode on a client (PRODUCT.md §4.13): opened by a touch with a sponsor while the advocate
had not heard from us, closed by any touch with the advocate; a card when it is still open a business day later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.people.advocate import FROM_US, heads_up_due, needs_heads_up, suggested_line
from bot.people.roles import SPONSOR
from bot.relationship.record import record_interaction
from storage.contacts import last_touch_with, primary_contact, touched_since
from storage.models import Client, Contact

HEADS_UP_NOTE = "Heads-up"  # the note of the touch *Mark heads-up given* logs (storage.contacts.last_heads_up finds it)


@dataclass(frozen=True)
class HeadsUp:
    advocate: Contact
    sponsor: Contact
    line: str  # a heads-up you could send


def after_touch(session: Session, client: Client, contact: Contact | None, direction: str | None, when_at: datetime,
                workdays: frozenset[int], tz: ZoneInfo) -> HeadsUp | None:
    """What a touch with `contact` means for the advocate: one with the advocate closes an open heads-up; one
    with a sponsor while the advocate has not heard from us in the 2 business days before it opens one (and the
    reply suggests it)."""
    if contact is None or direction is None:
        return None
    advocate = primary_contact(session, client.id)
    if advocate is None:
        return None
    if contact.id == advocate.id:
        if client.heads_up_since is not None and when_at >= client.heads_up_since:
            close(client)
        return None
    if contact.role != SPONSOR:
        return None
    heard = last_touch_with(session, client.id, advocate.id, FROM_US, before=when_at)
    if not needs_heads_up(when_at, heard, workdays, tz):
        return None
    if client.heads_up_since is None:
        client.heads_up_since = when_at
        client.heads_up_sponsor_id = contact.id
        client.next_heads_up_at = heads_up_due(when_at, workdays, tz)
    return HeadsUp(advocate, contact, suggested_line(advocate.name, contact.name, client.name))


def close(client: Client) -> None:
    client.heads_up_since = client.heads_up_sponsor_id = client.next_heads_up_at = None


def still_owed(session: Session, client: Client) -> Contact | None:
    """The advocate, while the client's heads-up is still owed (no touch with them since the sponsor touch)."""
    if client.heads_up_since is None:
        return None
    advocate = primary_contact(session, client.id)
    if advocate is None or touched_since(session, client.id, advocate.id, client.heads_up_since):
        return None
    return advocate


def gave_heads_up(session: Session, client: Client, user_id: str, now: datetime) -> Contact | None:
    """*Mark heads-up given*: a message from us to the advocate, which closes the episode. None: no advocate."""
    advocate = primary_contact(session, client.id)
    if advocate is None:
        return None
    sponsor = session.get(Contact, client.heads_up_sponsor_id) if client.heads_up_sponsor_id else None
    note = f"{HEADS_UP_NOTE} about {sponsor.name}" if sponsor is not None else HEADS_UP_NOTE
    record_interaction(session, client, "message", "out", now, note, user_id, now, contact=advocate)
    close(client)
    return advocate
