"""Recording a touch, and everything a touch changes: the one place `/client log`, the card buttons, the log
form, a linked channel's messages and (for the schedule) bulk import all go through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.relationship.cards import close_open_cards
from bot.relationship.kinds import touch_words
from bot.relationship.schedule import contact_named_in, refresh
from storage.commitments import FROM_US, refresh_issues
from storage.contacts import contacts_of
from storage.handoffs import INTRO_KINDS, WINS, drop_waiting, mark_introduced
from storage.models import Client, Contact, Interaction


def record_interaction(session: Session, client: Client, kind: str, direction: str | None, when_at: datetime,
                       note: str | None, user_id: str, now: datetime, contact: Contact | None = None) -> Interaction:
    """A touch (or, without a direction, an internal note) someone logged with a client; with `contact` (`log …
    with`), the person it was with, else the contact the note names, if any."""
    known = None if contact else contacts_of(session, client.id)
    named = contact or contact_named_in(note, known or [])
    interaction = Interaction(
        workspace_id=client.workspace_id, client_id=client.id, kind=kind, direction=direction,
        occurred_at=when_at, note=note, logged_by=user_id, created_at=now,
        contact_id=named.id if named else None,
    )
    session.add(interaction)
    if kind in WINS and client.status == "active":
        client.next_referable_at = now  # a good moment to make referring easy? (bot.handoffs.referable)
    touched(session, client, direction, when_at, touch_words(kind), user_id, now, contacts=known)
    return interaction


def touched(session: Session, client: Client, direction: str | None, when_at: datetime, words: str, user_id: str,
            now: datetime, contacts: list[Contact] | None = None, *, close_cards: bool = True) -> None:
    """What a touch written at `when_at` changes besides its own row: the client's facts and schedule; its open
    cards, closed with `words` (a touch, not an internal note); from us, news on every open issue; and, from a
    new owner after a handoff, the introduction they were waiting for (PRODUCT.md §4.13). `contacts`: all the
    client's contacts, when the caller has them (the primary is found among them instead of asked for).
    `close_cards=False`: history written now about long ago (a backfilled mailbox) answers no card of today's."""
    refresh(session, client, now, contacts)
    if direction is not None and close_cards:
        close_open_cards(session, client.id, words, user_id, now)
        if mark_introduced(session, client.id, user_id, when_at):
            drop_waiting(session, client.id, INTRO_KINDS, "introduced them")
    if direction in FROM_US:
        refresh_issues(session, client.id, when_at, now)
