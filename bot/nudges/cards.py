"""Cards after they are posted: closing them (a click on one, or any touch logged with the client) and how
their message reads afterwards.

Whatever closes a card notes the message it sits in on the session (`session.info`), so whoever owns the
transaction can bring every such message up to date in Slack once it has committed.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from bot.nudges.messages import CardView, Handled, NudgeView, message
from storage.focus import nudges_on_card, open_cards
from storage.models import Card, Client, Nudge
from storage.queries import nudges_in_message

UPDATES = "rapport_message_updates"
MessageUpdate = tuple[str, str, str, list[dict[str, object]]]  # channel, ts, fallback text, blocks


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


def close_open_cards(session: Session, client_id: int, action: str, user_id: str, now: datetime) -> None:
    """Any touch logged with a client closes its open cards (PRODUCT.md §4.8)."""
    for card in open_cards(session, client_id):
        close(session, card, nudges_on_card(session, card.id), action, user_id, now)


def message_updates(session: Session, workspace_id: int) -> list[MessageUpdate]:
    """The messages whose cards changed in this transaction, as they should now read."""
    session.flush()
    touched = sorted(session.info.pop(UPDATES, set()))
    return [update for channel, ts in touched if (update := rebuilt(session, workspace_id, channel, ts))]


def rebuilt(session: Session, workspace_id: int, channel: str, ts: str) -> MessageUpdate | None:
    """A posted message as it should read now: current names, and who handled what."""
    nudges = nudges_in_message(session, workspace_id, channel, ts)
    groups: dict[object, list[Nudge]] = {}
    for nudge in nudges:
        groups.setdefault(nudge.card_id or ("nudge", nudge.id), []).append(nudge)
    cards = []
    for group in groups.values():
        client = session.get(Client, group[0].client_id)
        if client is None:
            continue
        card = session.get(Card, group[0].card_id) if group[0].card_id else None
        views = tuple(NudgeView(n.id, n.kind, client.name, client.owner_id, json.loads(n.facts)) for n in group)
        cards.append(CardView(views, card.why if card else None, card.note if card else None, _handled(card, group)))
    if not cards:
        return None
    text, blocks, _ = message(cards)
    return channel, ts, text, blocks


def _handled(card: Card | None, nudges: list[Nudge]) -> Handled | None:
    if card is not None and card.closed_action and card.closed_at:
        return Handled(card.closed_action, card.closed_by or "", card.closed_at)
    done = [n for n in nudges if n.handled_action and n.handled_at]
    if len(done) == len(nudges):
        last = max(done, key=lambda n: n.handled_at)  # type: ignore[arg-type, return-value]
        return Handled(last.handled_action or "", last.handled_by or "", last.handled_at)  # type: ignore[arg-type]
    return None
