"""What a click on a card does (Log a touch, Snooze, Done, Not relevant, Open), and the messages to update.

A button's value is the id of the first nudge on its card (cards posted before focus carry one nudge), so
every button ever posted still finds what it was about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.card.client import client_card
from bot.commitments.ledger import settle
from bot.nudges.cards import message_updates
from bot.nudges.focus import NOT_RELEVANT
from bot.relationship.cards import card_of, close, note_message
from bot.relationship.record import record_interaction
from bot.relationship.schedule import not_relevant
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.slack.message_updates import MessageUpdate
from bot.when import WhenError, add_period, describe_period, parse_period
from storage.models import Client, Commitment, Nudge
from storage.queries import get_client, get_nudge, mark_referrals_thanked, open_referrals_from


@dataclass
class ClickResult:
    """The clicker sees `ephemeral`; messages in `updates` are rewritten; `log_form_for` opens the modal."""

    ephemeral: b.Reply | None = None
    updates: list[MessageUpdate] = field(default_factory=list)
    log_form_for: tuple[int, str, int] | None = None  # client id, client name, nudge id


def _gone() -> ClickResult:
    return ClickResult(ephemeral=b.reply("That nudge is gone.", b.paragraph(
        "That nudge no longer exists: its client was forgotten. Nothing to do.")))


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
    if nudge is None or nudge.client_id is None:
        return _gone()
    client = get_client(session, ctx.workspace_id, nudge.client_id)
    if client is None:
        return _gone()
    if action == "nudge_open":
        return ClickResult(ephemeral=b.Reply(text=b.fallback(client.name), blocks=client_card(session, ctx, client)))
    if action == "nudge_log":
        return ClickResult(log_form_for=(client.id, client.name, nudge.id))
    card, reasons = card_of(session, ctx.workspace_id, nudge)
    if nudge.handled_at is not None:
        note_message(session, nudge)  # a stale copy: show it as it now reads
        return ClickResult(ephemeral=_already(nudge), updates=message_updates(session, ctx.workspace_id))
    kinds = {n.kind for n in reasons}
    if action == "nudge_snooze":
        try:
            count, unit = parse_period(period)
        except WhenError:
            return ClickResult(ephemeral=b.error("That snooze option is out of date."))
        close(session, card, reasons, f"snoozed {client.name} for {describe_period(count, unit)}", ctx.user_id,
              ctx.now)
        client.snoozed_until = add_period(ctx.now, count, unit)
    elif action == "nudge_done":
        # closed first, so the check-in recorded below (which closes the client's open cards) reads as done
        close(session, card, reasons, done_words(kinds), ctx.user_id, ctx.now)
        _done(session, ctx, reasons, client)
    elif action == "nudge_not_relevant":
        close(session, card, reasons, NOT_RELEVANT, ctx.user_id, ctx.now)
        not_relevant(session, client, reasons)
    else:
        return ClickResult(ephemeral=b.error("That button is out of date."))
    return ClickResult(updates=message_updates(session, ctx.workspace_id))


DONE_WORDS = (("checkin", "checked in"), ("thank", "thanked them"), ("promise", "kept the promise"),
              ("issue", "sent them an update"))


def done_words(kinds: set[str]) -> str:
    said = [words for kind, words in DONE_WORDS if kind in kinds]
    return " and ".join(said) or "marked it done"


def _done(session: Session, ctx: Context, reasons: list[Nudge], client: Client) -> None:
    """Done on a card does what each reason asks: a check-in is recorded, a referrer is thanked, a promise is
    kept, a status update on an issue is recorded as a message to them."""
    kinds = {n.kind for n in reasons}
    if "checkin" in kinds:
        record_interaction(session, client, "checkin", "both", ctx.now, None, ctx.user_id, ctx.now)
    if "thank" in kinds:
        open_ones = open_referrals_from(session, ctx.workspace_id, client.id)
        if open_ones:
            mark_referrals_thanked(session, [r.id for r in open_ones], ctx.user_id, ctx.now)
    for nudge in reasons:
        commitment = session.get(Commitment, nudge.commitment_id) if nudge.commitment_id else None
        if nudge.kind == "promise" and commitment is not None and commitment.done_at is None:
            settle(session, commitment, ctx.user_id, ctx.now)
    if "issue" in kinds:
        record_interaction(session, client, "message", "out", ctx.now, "status update", ctx.user_id,
                           ctx.now)


def open_client(session: Session, ctx: Context, value: str) -> b.Reply:
    """A client picked from the digest's menu: its card, for the clicker only."""
    client = get_client(session, ctx.workspace_id, int(value)) if value.isdigit() and len(value) <= 18 else None
    if client is None:
        return b.reply("That client is gone.", b.paragraph("That client no longer exists (it may have been "
                                                            "forgotten)."))
    return b.Reply(text=b.fallback(client.name), blocks=client_card(session, ctx, client))
