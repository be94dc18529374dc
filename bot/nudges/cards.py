"""How a posted card's message reads after it changed: closing cards (bot.relationship.cards) notes their
messages on the session, and whoever owns the transaction rebuilds them here once it has flushed."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.nudges.handoff_messages import addressed_to
from bot.nudges.messages import CardView, Handled, NudgeView, is_direct, message
from bot.relationship.cards import UPDATES
from bot.slack.message_updates import MessageUpdate
from bot.when import UTC_ZONE, Days
from bot.workspaces import tz_of
from storage.models import Card, Client, Nudge, Workspace
from storage.nudges import nudges_in_message


def message_updates(session: Session, workspace_id: int, tz: ZoneInfo = UTC_ZONE) -> list[MessageUpdate]:
    """The messages whose cards changed in this transaction, as they should now read. `tz`: the deployment's
    timezone (RAPPORT_TIMEZONE), for a workspace that has not set its own."""
    session.flush()
    touched = sorted(session.info.pop(UPDATES, set()))
    return [update for channel, ts in touched if (update := rebuilt(session, workspace_id, channel, ts, tz))]


def rebuilt(session: Session, workspace_id: int, channel: str, ts: str,
            tz: ZoneInfo = UTC_ZONE) -> MessageUpdate | None:
    """A posted message as it should read now: current names, and who handled what, its days written as when
    it was posted (the year of its post decides whether a day shows its year)."""
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
        facts = [json.loads(n.facts) for n in group]
        owner = addressed_to([n.kind for n in group], facts[0], client.owner_id)
        views = tuple(NudgeView(n.id, n.kind, client.name, owner, f, _own(n))
                      for n, f in zip(group, facts, strict=True))
        cards.append(CardView(views, card.why if card else None, card.note if card else None, _handled(card, group)))
    if not cards:
        return None
    workspace = session.get(Workspace, workspace_id)
    zone = tz_of(workspace, tz) if workspace is not None else tz
    posted = min((n.sent_at for n in nudges if n.sent_at is not None), default=None)
    days = Days.at(posted, zone) if posted is not None else Days(zone)
    text, blocks, _ = message(cards, days, to_owner=is_direct(channel))
    return channel, ts, text, blocks


def _own(nudge: Nudge) -> Handled | None:
    """One reason answered on its own (a goal's confidence), while the card stays open for the others."""
    if nudge.handled_action and nudge.handled_at:
        return Handled(nudge.handled_action, nudge.handled_by or "", nudge.handled_at)
    return None


def _handled(card: Card | None, nudges: list[Nudge]) -> Handled | None:
    if card is not None and card.closed_action and card.closed_at:
        return Handled(card.closed_action, card.closed_by or "", card.closed_at)
    done = [n for n in nudges if n.handled_action and n.handled_at]
    if len(done) == len(nudges):
        last = max(done, key=lambda n: n.handled_at)  # type: ignore[arg-type, return-value]
        return Handled(last.handled_action or "", last.handled_by or "", last.handled_at)  # type: ignore[arg-type]
    return None
