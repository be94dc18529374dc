"""What a click on a card does (Log a touch, Record check-in, Mark thanked and the other buttons that do what a
reason asks, Snooze, View client, Mark not relevant), and the messages to update.

A button's value is the id of the first nudge on its card (cards posted before focus carry one nudge), so
every button ever posted still finds what it was about. A button that does what a reason asks acts on the reasons
of its group only (`nudge_done_thank`: the referrers to thank); an old message's *Done* (`nudge_done`) on all.

Clicks are serialised (PRODUCT.md §5): a click that changes anything first locks the client's row
(storage.clients.lock_client), then reads the card. Of two clicks at once on one card (Done and Done, Done and
Snooze, …) the first applies and the second, reading after it, is answered "Already handled by …".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.buttons.goals import goal_click, is_goal_action
from bot.card.client import client_card
from bot.commitments.ledger import settle
from bot.handoffs.handoff import introduced_by_click
from bot.nudges.cards import message_updates
from bot.nudges.focus import NOT_RELEVANT
from bot.nudges.messages import DONE_ACTION, DONE_GROUPS, DONE_LABELS
from bot.nudges.said import WHY
from bot.people.heads_up import gave_heads_up
from bot.relationship.cards import answer_nudges, card_of, close, note_message
from bot.relationship.record import record_interaction
from bot.relationship.schedule import not_relevant
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.slack.handled import already_handled
from bot.slack.message_updates import MessageUpdate
from bot.when import WhenError, add_period, describe_period, parse_period
from storage.clients import get_client, lock_client
from storage.handoffs import INTRO_KINDS, latest_handoff
from storage.models import Card, Client, Commitment, Nudge
from storage.nudges import client_id_of_nudge, get_nudge
from storage.referrals import mark_referrals_thanked, open_referrals_from


@dataclass
class ClickResult:
    """The clicker sees `ephemeral`; messages in `updates` are rewritten; `log_form_for` opens the modal."""

    ephemeral: b.Reply | None = None
    updates: list[MessageUpdate] = field(default_factory=list)
    log_form_for: tuple[int, str, int] | None = None  # client id, client name, nudge id


def _gone() -> ClickResult:
    return ClickResult(ephemeral=b.reply("That nudge is gone.", b.paragraph(
        "That nudge no longer exists: its client was forgotten. Nothing to do.")))


def _already(card: Card | None, nudge: Nudge) -> b.Reply:
    if card is not None and card.closed_at is not None:
        return already_handled(card.closed_action, card.closed_by, card.closed_at)
    return already_handled(nudge.handled_action, nudge.handled_by, nudge.handled_at)


def click(session: Session, ctx: Context, action: str, value: str) -> ClickResult:
    """`value` comes from Slack's payload and is not trusted: a bad or foreign id is a friendly no-op."""
    nudge_part, _, period = value.partition(":")
    if not nudge_part.isdigit() or len(nudge_part) > 18:
        return ClickResult(ephemeral=b.error("That button is out of date."))
    if action in ("nudge_open", "nudge_log"):
        return _look(session, ctx, action, int(nudge_part))
    if is_goal_action(action):
        reply, updates = goal_click(session, ctx, action, int(nudge_part))
        return ClickResult(ephemeral=reply, updates=updates)
    group = action.removeprefix(DONE_ACTION + "_") if action.startswith(DONE_ACTION + "_") else None
    if action not in ("nudge_snooze", DONE_ACTION, "nudge_not_relevant") and group not in DONE_LABELS:
        return ClickResult(ephemeral=b.error("That button is out of date."))
    client_id = client_id_of_nudge(session, ctx.workspace_id, int(nudge_part))
    client = lock_client(session, ctx.workspace_id, client_id) if client_id is not None else None
    # everything below is read under the client's lock, so it includes whatever a click before this one did
    nudge = get_nudge(session, ctx.workspace_id, int(nudge_part)) if client is not None else None
    if client is None or nudge is None or nudge.client_id != client.id:
        return _gone()
    card, reasons = card_of(session, ctx.workspace_id, nudge)
    # a card stays open while any reason on it is (a promise kept elsewhere closes only its own reason)
    still_open = [n for n in reasons if n.handled_at is None] if card is None or card.closed_at is None else []
    if group is not None:  # only the reasons this button is about
        still_open = [n for n in still_open if DONE_GROUPS.get(n.kind) == group]
    if not still_open:
        note_message(session, nudge)  # a stale copy: show it as it now reads
        mine = [n for n in reasons if DONE_GROUPS.get(n.kind) == group and n.handled_at is not None]
        return ClickResult(ephemeral=_already(card if not mine else None, mine[0] if mine else nudge),
                           updates=message_updates(session, ctx.workspace_id, ctx.settings.tz))
    kinds = {n.kind for n in still_open}
    if action == "nudge_snooze":
        try:
            count, unit = parse_period(period)
        except WhenError:
            return ClickResult(ephemeral=b.error("That snooze option is out of date."))
        close(session, card, still_open, f"snoozed {client.name} for {describe_period(count, unit)}", ctx.user_id,
              ctx.now)
        client.snoozed_until = add_period(ctx.now, count, unit)
    elif action == DONE_ACTION:
        # closed first, so the check-in recorded below (which closes the client's open cards) reads as done
        close(session, card, still_open, done_words(kinds), ctx.user_id, ctx.now)
        _done(session, ctx, still_open, client)
    elif group is not None:
        # this group's reasons are answered; the card closes when nothing else on it is open (a touch recorded
        # below, a check-in say, closes the client's open cards as any touch does)
        answer_nudges(session, still_open, done_words(kinds), ctx.user_id, ctx.now)
        _done(session, ctx, still_open, client)
    else:
        close(session, card, still_open, NOT_RELEVANT, ctx.user_id, ctx.now)
        not_relevant(session, client, still_open)
    return ClickResult(updates=message_updates(session, ctx.workspace_id, ctx.settings.tz))


def _look(session: Session, ctx: Context, action: str, nudge_id: int) -> ClickResult:
    """Open and Log a touch change nothing by themselves (the form's submission is a touch like any other)."""
    nudge = get_nudge(session, ctx.workspace_id, nudge_id)
    client = get_client(session, ctx.workspace_id, nudge.client_id) if nudge and nudge.client_id else None
    if nudge is None or client is None:
        return _gone()
    if action == "nudge_open":
        blocks = [*_why_it_matters(session, ctx, nudge), *client_card(session, ctx, client)]
        return ClickResult(ephemeral=b.Reply(text=b.fallback(client.name), blocks=blocks))
    return ClickResult(log_form_for=(client.id, client.name, nudge.id))


def _why_it_matters(session: Session, ctx: Context, nudge: Nudge) -> list[b.Block]:
    """What the card leaves out to stay short: why each of its reasons matters, said once, here."""
    _, reasons = card_of(session, ctx.workspace_id, nudge)
    whys = list(dict.fromkeys(WHY[n.kind] for n in reasons if n.kind in WHY))
    return [b.rich(*(b.line(b.text("Why it matters: ", bold=True), why) for why in whys)), b.divider()] if whys else []


DONE_WORDS = (("checkin", "checked in"), ("thank", "thanked them"), ("promise", "kept the promise"),
              ("issue", "sent them an update"), ("heads_up", "gave the advocate a heads-up"),
              ("intro", "introduced them"), ("intro_reminder", "introduced them"),
              ("handoff_checkin", "checked in"))


def done_words(kinds: set[str]) -> str:
    said = list(dict.fromkeys(words for kind, words in DONE_WORDS if kind in kinds))
    return " and ".join(said) or "marked it done"


def _done(session: Session, ctx: Context, reasons: list[Nudge], client: Client) -> None:
    """Done on a card does what each reason asks: a check-in is recorded, a referrer is thanked, a promise is
    kept, a status update on an issue is recorded as a message to them."""
    kinds = {n.kind for n in reasons}
    if kinds & {"checkin", "handoff_checkin"}:
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
    if "heads_up" in kinds and client.heads_up_since is not None:
        gave_heads_up(session, client, ctx.user_id, ctx.now)
    if kinds & set(INTRO_KINDS):
        introduced_by_click(session, latest_handoff(session, client.id), ctx.user_id, ctx.now)


def open_client(session: Session, ctx: Context, value: str) -> b.Reply:
    """A client picked from the digest's menu: its card, for the clicker only."""
    client = get_client(session, ctx.workspace_id, int(value)) if value.isdigit() and len(value) <= 18 else None
    if client is None:
        return b.reply("That client is gone.", b.paragraph("That client no longer exists (it may have been "
                                                            "forgotten)."))
    return b.Reply(text=b.fallback(client.name), blocks=client_card(session, ctx, client))
