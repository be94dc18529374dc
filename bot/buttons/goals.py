"""The one-click answers on a goal's card (PRODUCT.md §4.11): a confidence from 1 to 10 on the weekly question,
and Met or Missed once its date has passed.

Serialised like every card button (PRODUCT.md §5): the click locks the client's row, then reads the nudge and
its goal, so of two clicks at once the first applies and the second is answered "Already handled by …"."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot import audit
from bot.goals.ledger import check, close_goal
from bot.nudges.cards import message_updates
from bot.relationship.cards import card_of, note_message
from bot.slack import blocks as b
from bot.slack.caller import Context, owner_or_admin
from bot.slack.handled import already_handled
from bot.slack.message_updates import MessageUpdate
from storage.clients import lock_client
from storage.goals import get_goal
from storage.nudges import client_id_of_nudge, get_nudge

GOAL_ACTION = re.compile(r"goal_(?:confidence_(?P<confidence>10|[1-9])|(?P<outcome>met|missed))")


def is_goal_action(action: str) -> bool:
    return GOAL_ACTION.fullmatch(action) is not None


def goal_click(session: Session, ctx: Context, action: str, nudge_id: int
               ) -> tuple[b.Reply | None, list[MessageUpdate]]:
    """Apply one answer; returns what the clicker alone sees (if anything) and the messages to rewrite."""
    parsed = GOAL_ACTION.fullmatch(action)
    assert parsed is not None
    client_id = client_id_of_nudge(session, ctx.workspace_id, nudge_id)
    client = lock_client(session, ctx.workspace_id, client_id) if client_id is not None else None
    # everything below is read under the client's lock, so it includes whatever a click before this one did
    nudge = get_nudge(session, ctx.workspace_id, nudge_id) if client is not None else None
    goal = get_goal(session, ctx.workspace_id, nudge.goal_id) if nudge is not None and nudge.goal_id else None
    if client is None or nudge is None or goal is None or nudge.client_id != client.id:
        return b.reply("That goal is gone.", b.paragraph("That goal no longer exists: its client was forgotten. "
                                                         "Nothing to do.")), []
    card, _ = card_of(session, ctx.workspace_id, nudge)
    if nudge.handled_at is not None or goal.status != "open" or (card is not None and card.closed_at is not None):
        note_message(session, nudge)  # a stale copy: show it as it now reads
        if nudge.handled_at is None and goal.status != "open":
            return already_handled(f"marked it {goal.status}", goal.closed_by, goal.closed_at), \
                message_updates(session, ctx.workspace_id, ctx.settings.tz)
        action_done = card.closed_action if card is not None and card.closed_at else nudge.handled_action
        by = card.closed_by if card is not None and card.closed_at else nudge.handled_by
        at = card.closed_at if card is not None and card.closed_at else nudge.handled_at
        return already_handled(action_done, by, at), message_updates(session, ctx.workspace_id, ctx.settings.tz)
    reply: b.Reply | None = None
    if parsed.group("confidence"):
        if check(session, goal, int(parsed.group("confidence")), None, ctx.user_id, ctx.now):
            reply = b.reply(f"{goal.what} is at risk.", b.paragraph(
                b.emoji("warning"), " ", b.text(goal.what, italic=True), " for ", b.text(client.name, bold=True),
                " is now at risk. Have the awkward conversation now: what happens if we don't get there? Change the "
                "strategy, or scope it down together."))
    else:
        outcome = parsed.group("outcome")
        if not owner_or_admin(ctx, client):  # it changes the owner's calibration (PRODUCT.md §3)
            return b.error(f"Only {client.name}'s owner or a workspace admin can mark its goals met or missed. "
                           "Ask the owner, or an admin."), []
        close_goal(session, goal, outcome, None, ctx.user_id, ctx.now)
        audit.record(session, ctx.workspace_id, ctx.user_id, f"goal_{outcome}", ctx.now, client_id=client.id,
                     detail=goal.what)
    return reply, message_updates(session, ctx.workspace_id, ctx.settings.tz)
