"""Closing posted cards, in the database: a click on one, any touch logged with the client, a commitment kept.

Whatever closes a card notes the message it sits in on the session (`session.info[UPDATES]`), so whoever owns
the transaction can bring every such message up to date in Slack once it has committed (bot.nudges.cards
rebuilds them; bot.slack.message_updates rewrites them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from storage.focus import get_card, nudges_on_card, open_cards
from storage.models import Card, Nudge
from storage.nudges import get_nudge

UPDATES = "rapport_message_updates"


def close(session: Session, card: Card | None, nudges: list[Nudge], action: str, user_id: str,
          now: datetime) -> None:
    """Someone dealt with it: the card and every reason on it are handled, and its message will say so."""
    for nudge in nudges:
        if nudge.handled_at is None:
            nudge.handled_action, nudge.handled_by, nudge.handled_at = action, user_id, now
        note_message(session, nudge)
    if card is not None and card.closed_at is None:
        card.closed_action, card.closed_by, card.closed_at = action, user_id, now


def note_message(session: Session, nudge: Nudge) -> None:
    """The message this nudge was posted in should be brought up to date after the commit."""
    if nudge.channel_id and nudge.message_ts:
        session.info.setdefault(UPDATES, set()).add((nudge.channel_id, nudge.message_ts))


def answer_nudges(session: Session, nudges: Iterable[Nudge], action: str, user_id: str, now: datetime) -> None:
    """What these nudges asked about is settled elsewhere (a promise kept, a goal answered): one still waiting for a
    card is dropped, one on a card is marked handled, and the card closes when nothing else on it is open."""
    for nudge in nudges:
        if nudge.status == "pending" and nudge.card_id is None:
            nudge.status, nudge.last_error = "dropped", action
            continue
        card = session.get(Card, nudge.card_id) if nudge.card_id else None
        close(session, None, [nudge], action, user_id, now)
        if card is not None and all(n.handled_at for n in nudges_on_card(session, card.id)):
            close(session, card, [], action, user_id, now)


def close_open_cards(session: Session, client_id: int, action: str, user_id: str, now: datetime) -> None:
    """Any touch logged with a client closes its open cards (PRODUCT.md §4.8)."""
    for card in open_cards(session, client_id):
        close(session, card, nudges_on_card(session, card.id), action, user_id, now)


def card_of(session: Session, workspace_id: int, nudge: Nudge) -> tuple[Card | None, list[Nudge]]:
    """The card a nudge is on and every reason on it."""
    card = get_card(session, workspace_id, nudge.card_id) if nudge.card_id else None
    return card, (nudges_on_card(session, card.id) if card else [nudge])


def close_card_of(session: Session, workspace_id: int, nudge_id: int | None, action: str, user_id: str,
                  now: datetime) -> None:
    """A touch logged from a card's form closes that card (any open card of the client closes with it)."""
    if nudge_id is not None:
        nudge = get_nudge(session, workspace_id, nudge_id)
        if nudge is not None and nudge.handled_at is None:
            card, reasons = card_of(session, workspace_id, nudge)
            close(session, card, reasons, action, user_id, now)
