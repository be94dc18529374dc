"""The rules of promises and issues (PRODUCT.md §4.10): recording them, settling them, finding the one a person
means. How one reads on a card is bot/card/commitments.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.relationship.cards import answer_nudges
from storage.commitments import open_commitments, unhandled_nudges_of
from storage.models import Client, Commitment
from storage.names import name_key


class AlreadyOpenError(ValueError):
    """The same issue is open already, and no new estimate was given for it."""




def record(session: Session, client: Client, kind: str, what: str, due_on: date | None, user_id: str,
           now: datetime) -> tuple[Commitment, bool]:
    """A new promise or issue (True); or, for an issue already open with this very text, its new estimate
    (False; AlreadyOpenError without one)."""
    existing = same_issue(open_commitments(session, client.id, "issue"), what) if kind == "issue" else None
    if existing is None:
        commitment = new_commitment(client, kind, what, due_on, user_id, now)
        session.add(commitment)
        return commitment, True
    if due_on is None:
        raise AlreadyOpenError(what)
    existing.due_on, existing.next_check_at = due_on, now  # the rule looks again at once
    return existing, False


def new_commitment(client: Client, kind: str, what: str, due_on: date | None, user_id: str,
                   now: datetime) -> Commitment:
    """A promise (due_on: its day) or an issue (due_on: its estimate, if any); the rules look at it at once."""
    return Commitment(workspace_id=client.workspace_id, client_id=client.id, kind=kind, what=what, due_on=due_on,
                      created_at=now, created_by=user_id, reminders=0, update_since=now if kind == "issue" else None,
                      next_check_at=now)


def close_commitment(commitment: Commitment, user_id: str, now: datetime, note: str | None) -> None:
    """Kept, or resolved: nothing more is owed, and no card about it will be shown."""
    commitment.done_at, commitment.done_by, commitment.done_note = now, user_id, note
    commitment.next_check_at = None
    commitment.late_since = None


def settle(session: Session, commitment: Commitment, user_id: str, now: datetime, note: str | None = None) -> None:
    """Kept or resolved, from anywhere: the commitment closes, its waiting nudges are dropped, and its posted
    cards read as done (a card with other reasons still open stays open for them)."""
    close_commitment(commitment, user_id, now, note)
    action = "kept the promise" if commitment.kind == "promise" else "resolved it"
    answer_nudges(session, unhandled_nudges_of(session, commitment.id), action, user_id, now)




def same_issue(commitments: Sequence[Commitment], what: str) -> Commitment | None:
    """An open issue with this very text: a new estimate for it rather than a second issue."""
    typed = name_key(what)
    return next((c for c in commitments if c.kind == "issue" and name_key(c.what) == typed), None)
