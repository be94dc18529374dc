"""Commands for handing a client over and closing out a project (PRODUCT.md §4.13): handoff, closeout, and the
closeout checklist's Tick button."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.card.closeout import checklist_blocks
from bot.commands.common import clean_note, find, lock_found, locked_for_owner, require_new_owner, split_note
from bot.commands.usage import USAGE
from bot.handoffs import closeout as closeouts
from bot.handoffs.handoff import CHECKIN_DAYS, HALVED_FOR, hand_off
from bot.relationship.thresholds import halved_days
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.slack.handled import already_handled
from bot.slack.text import user_id
from storage.clients import lock_client
from storage.handoffs import client_id_of_closeout, get_closeout, ticks_of

TO = re.compile(r"^to\s+", re.I)


def cmd_handoff(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["handoff"]
    head, raw_note = split_note(args)
    note = clean_note(raw_note, usage)
    match = find(session, ctx, head, usage)
    client = match.client
    example = f"/client handoff {client.name} to @bob"
    rest = match.rest.strip()
    if not TO.match(rest):
        raise CommandError(f"Say who takes it over, like {example}.", usage)
    new_owner = user_id(TO.sub("", rest))
    if new_owner is None:
        raise CommandError(f"Name the new owner with an @mention, like {example}.", usage)
    client = locked_for_owner(session, ctx, client, "hand over")
    require_new_owner(session, ctx, new_owner, usage)
    if new_owner == client.owner_id:
        raise CommandError(f"{client.name} is already owned by that person: nothing to hand over.", usage)
    previous = client.owner_id
    moved = hand_off(session, client, new_owner, note, ctx.user_id, ctx.now)
    counts = [f"{n} open {word}{'s' if n != 1 else ''}" for n, word in
              ((moved.promises, "promise"), (moved.issues, "issue"), (moved.goals, "goal")) if n]
    taken = f", with {', '.join(counts[:-1])} and {counts[-1]}" if len(counts) > 1 else \
        f", with {counts[0]}" if counts else " (nothing open to move)"
    contact: list[b.Element | str] = [b.text(moved.contact, bold=True)] if moved.contact else ["their main contact"]
    lines = [
        b.line(b.emoji("handshake"), " ", b.text(client.name, bold=True), " handed from ", b.user(previous), " to ",
               b.user(new_owner), taken, "."),
        b.line(b.user(previous), " gets a card to introduce ", b.user(new_owner), " to ", *contact,
               " (a reminder after 2 business days, until ", b.user(new_owner), " is in touch with them)."),
        b.line(f"For the next {HALVED_FOR.days} days {client.name} counts as quiet after "
               f"{halved_days(client.quiet_threshold_days)} days instead of {client.quiet_threshold_days}, and ",
               b.user(new_owner), f" is asked how it goes at {', '.join(str(d) for d in CHECKIN_DAYS[:-1])} and "
               f"{CHECKIN_DAYS[-1]} days."),
    ]
    if note:
        lines.append(b.line(b.text(note, italic=True)))
    return b.reply(f"{client.name} handed over.", b.rich(*lines))


def cmd_closeout(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["closeout"]
    head, raw_note = split_note(args)
    note = clean_note(raw_note, usage)
    match = find(session, ctx, head, usage)
    client = match.client
    if match.rest.strip():
        raise CommandError(f"I found {client.name} but don't understand {match.rest.strip()!r} after it. A note "
                           f"goes after a colon, like /client closeout {client.name} : phase 1 done.", usage)
    client = lock_found(session, ctx, client)  # two people opening one at once: the second sees the first
    try:
        closeout = closeouts.open_new(session, client, note, ctx.user_id, ctx.now)
    except closeouts.AlreadyOpenError as exc:
        existing = exc.closeout
        if note is not None:
            raise CommandError(f"{client.name} already has a closeout open (since "
                               f"{existing.opened_at:%Y-%m-%d}); finish it before opening another. Run "
                               f"/client closeout {client.name} to see it.", usage) from None
        ticks = ticks_of(session, existing.id)
        return b.Reply(text=b.fallback(f"{client.name} already has a closeout open: its checklist."),
                       blocks=[b.paragraph(b.emoji("information_source"), " ", b.text(client.name, bold=True),
                                           " already has a closeout open; a second cannot be opened until it is "
                                           "done. Here it is:"),
                               *checklist_blocks(client, existing, ticks)])
    return b.Reply(text=b.fallback(f"Closeout of {client.name} opened: five items to tick."),
                   blocks=checklist_blocks(client, closeout, {}))


def closeout_tick(session: Session, ctx: Context, value: str) -> b.Reply:
    """A Tick button. `value` ('closeout id:item') comes from Slack and is not trusted. Ticks are serialised on
    the client's row: of two clicks at once on one item, the second is told who ticked it."""
    raw_id, _, item = value.partition(":")
    if not raw_id.isdigit() or len(raw_id) > 18 or item not in closeouts.ITEM_KEYS:
        return b.error("That button is out of date. Run /client closeout again.")
    client_id = client_id_of_closeout(session, ctx.workspace_id, int(raw_id))
    client = lock_client(session, ctx.workspace_id, client_id) if client_id is not None else None
    closeout = get_closeout(session, ctx.workspace_id, int(raw_id)) if client is not None else None
    if client is None or closeout is None:
        return b.error("That closeout no longer exists: its client was forgotten.")
    done = closeouts.tick(session, closeout, item, ctx.user_id, ctx.now)
    ticks = ticks_of(session, closeout.id)
    if done is None:
        earlier = ticks[item]
        said = already_handled(f"ticked {closeouts.ITEM_WORDS[item].lower()}", earlier.by, earlier.at)
        return b.Reply(text=said.text, blocks=[*said.blocks, *checklist_blocks(client, closeout, ticks)])
    return b.Reply(text=b.fallback(f"Ticked: {closeouts.ITEM_WORDS[item]}."),
                   blocks=checklist_blocks(client, closeout, ticks))
