"""What a click on a nudge does (Log a touch, Snooze, Done, Open), and the message as it should now read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.commands.context import Context
from bot.commands.touches import record_interaction
from bot.commands.views import client_card
from bot.nudges.messages import Handled, NudgeView, message
from bot.slack import blocks as b
from bot.when import WhenError, add_period, describe_period, parse_period
from storage.models import Client, Nudge
from storage.queries import get_client, get_nudge, mark_referrals_thanked, nudges_in_message, open_referrals_from


@dataclass
class ClickResult:
    """The clicker sees `ephemeral`; the channel message becomes `update`; `log_form_for` opens the modal."""

    ephemeral: b.Reply | None = None
    update: tuple[str, str, str, list[b.Block]] | None = None
    log_form_for: tuple[int, str, int] | None = None  # client id, client name, nudge id


def _gone() -> ClickResult:
    return ClickResult(ephemeral=b.reply("That nudge is gone.", b.paragraph(
        "That nudge no longer exists: its client was forgotten. Nothing to do.")))


def rebuilt(session: Session, workspace_id: int, nudge: Nudge) -> tuple[str, str, str, list[b.Block]] | None:
    """The posted message as it should read now: current names, and who handled what."""
    if not (nudge.channel_id and nudge.message_ts):
        return None
    views = []
    for item in nudges_in_message(session, workspace_id, nudge.channel_id, nudge.message_ts):
        client = session.get(Client, item.client_id)
        if client is None:
            continue
        handled = Handled(item.handled_action, item.handled_by or "", item.handled_at) \
            if item.handled_action and item.handled_at else None
        views.append(NudgeView(item.id, item.kind, client.name, client.owner_id, json.loads(item.facts), handled))
    if not views:
        return None
    text, blocks, _ = message(views)
    return nudge.channel_id, nudge.message_ts, text, blocks


def mark_handled(session: Session, ctx: Context, nudge: Nudge, action: str) -> None:
    nudge.handled_action, nudge.handled_by, nudge.handled_at = action, ctx.user_id, ctx.now


def _already(nudge: Nudge) -> b.Reply:
    return b.reply("Already handled.", b.paragraph(
        "Already handled: ", b.user(nudge.handled_by or ""), f" {nudge.handled_action} ",
        b.date(nudge.handled_at or datetime.now()), ". Nothing more to do."))


def click(session: Session, ctx: Context, action: str, value: str) -> ClickResult:
    """`value` comes from Slack's payload and is not trusted: a bad or foreign id is a friendly no-op."""
    nudge_part, _, period = value.partition(":")
    if not nudge_part.isdigit() or len(nudge_part) > 18:
        return ClickResult(ephemeral=b.error("That button is out of date."))
    nudge = get_nudge(session, ctx.workspace_id, int(nudge_part))
    if nudge is None:
        return _gone()
    client = get_client(session, ctx.workspace_id, nudge.client_id)
    if client is None:
        return _gone()
    if action == "nudge_open":
        return ClickResult(ephemeral=b.Reply(text=b.fallback(client.name), blocks=client_card(session, ctx, client)))
    if action == "nudge_log":
        return ClickResult(log_form_for=(client.id, client.name, nudge.id))
    if nudge.handled_at is not None:
        return ClickResult(ephemeral=_already(nudge), update=rebuilt(session, ctx.workspace_id, nudge))
    if action == "nudge_snooze":
        try:
            count, unit = parse_period(period)
        except WhenError:
            return ClickResult(ephemeral=b.error("That snooze option is out of date."))
        client.snoozed_until = add_period(ctx.now, count, unit)
        mark_handled(session, ctx, nudge, f"snoozed {client.name} for {describe_period(count, unit)}")
    elif action == "nudge_done":
        mark_handled(session, ctx, nudge, _done(session, ctx, nudge, client))
    else:
        return ClickResult(ephemeral=b.error("That button is out of date."))
    session.flush()
    return ClickResult(update=rebuilt(session, ctx.workspace_id, nudge))


def _done(session: Session, ctx: Context, nudge: Nudge, client: Client) -> str:
    if nudge.kind == "checkin":
        record_interaction(session, ctx, client, "checkin", "both", ctx.now, None)
        return "checked in"
    if nudge.kind == "thank":
        open_ones = open_referrals_from(session, ctx.workspace_id, client.id)
        if open_ones:
            mark_referrals_thanked(session, [r.id for r in open_ones], ctx.user_id, ctx.now)
        return "thanked them"
    return "marked it done"


def after_logging(session: Session, ctx: Context, nudge_id: int | None, what: str) -> tuple[Any, ...] | None:
    """A touch logged from a nudge's form handles that nudge."""
    if nudge_id is None:
        return None
    nudge = get_nudge(session, ctx.workspace_id, nudge_id)
    if nudge is None or nudge.handled_at is not None:
        return None
    mark_handled(session, ctx, nudge, what)
    session.flush()
    return rebuilt(session, ctx.workspace_id, nudge)


def open_client(session: Session, ctx: Context, value: str) -> b.Reply:
    """A client picked from the digest's menu: its card, for the clicker only."""
    client = get_client(session, ctx.workspace_id, int(value)) if value.isdigit() and len(value) <= 18 else None
    if client is None:
        return b.reply("That client is gone.", b.paragraph("That client no longer exists (it may have been "
                                                            "forgotten)."))
    return b.Reply(text=b.fallback(client.name), blocks=client_card(session, ctx, client))
