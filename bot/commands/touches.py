"""Commands that record what happened: log, checkin, referral, thanked."""

from __future__ import annotations

import difflib
import re

from sqlalchemy.orm import Session

from bot import audit
from bot.commands.common import clean_name, clean_note, find, find_whole, lock_found, split_note
from bot.commands.contacts import contact_for_log, heads_up_after, heads_up_blocks, split_with, touch_contact
from bot.commands.matching import ClientLookupError, split_quoted
from bot.commands.usage import KINDS_HELP, USAGE
from bot.relationship.facts import cadence, next_checkin
from bot.relationship.kinds import (
    ALL_KINDS,
    CONTACT_KINDS,
    DIRECTION_WORDS,
    LABELS,
    direction_conflict,
    direction_for,
    normalize_kind,
)
from bot.relationship.record import record_interaction
from bot.relationship.schedule import start_referral, start_schedule
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.slack.handled import already_handled
from bot.when import WhenError, parse_period, parse_when
from storage.clients import clients_by_keys, lock_client
from storage.contacts import primary_contact
from storage.models import Client, Referral
from storage.names import name_key
from storage.referrals import get_referral, mark_referrals_thanked, open_referrals_from, referrer_id_of


def cmd_log(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["log"]
    head, raw_note = split_note(args)
    note = clean_note(raw_note, usage)
    match = find(session, ctx, head, usage)
    client = match.client
    rest_text, with_name = split_with(match.rest)
    if with_name == "":
        raise CommandError(f"Say who it was with, like /client log {client.name} call with Jane Doe.", usage)
    contact = contact_for_log(session, client, with_name, usage) if with_name else None
    words = rest_text.split()
    if not words:
        raise CommandError(f"What happened with {client.name}? Add a kind, like /client log {client.name} call. "
                           + KINDS_HELP, usage)
    kind = normalize_kind(words[0])
    if kind is None:
        close = difflib.get_close_matches(words[0].lower(), ALL_KINDS, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise CommandError(f"{words[0]!r} is not a kind I know.{hint} " + KINDS_HELP, usage)
    rest = words[1:]
    override = rest[0].lower() if rest and rest[0].lower() in ("from", "to") else None
    if override:
        rest = rest[1:]
        conflict = direction_conflict(kind, override)
        if conflict:
            raise CommandError(conflict, usage)
        if kind not in CONTACT_KINDS:
            override = None  # it agrees with the kind's own direction
    try:
        when_at = parse_when(" ".join(rest), ctx.now, ctx.user_tz()) if rest else ctx.now
    except WhenError as exc:
        raise CommandError(str(exc), usage) from None
    if kind == "note" and not note:
        raise CommandError(f"A note needs words: /client log {client.name} note : what you want to remember", usage)
    direction = direction_for(kind, override)
    touch = record_interaction(session, client, kind, direction, when_at, note, ctx.user_id, ctx.now, contact=contact)
    heads_up = heads_up_after(session, ctx, client, contact or touch_contact(session, touch), direction, when_at)
    said: list[b.Element | str] = [b.emoji("memo"), " Logged ", b.text(LABELS[kind], bold=True)]
    if direction:
        said.append(f" ({DIRECTION_WORDS[direction]})")
    said.append(" with ")
    if contact:
        said += [b.text(contact.name, bold=True), " at "]
    said += [b.text(client.name, bold=True), ", ", b.date(when_at), "."]
    lines = [b.line(*said)]
    if note:
        lines.append(b.line(b.text(note, italic=True)))
    if client.unanswered_count >= 2 and direction == "out":
        lines.append(b.line(f"That's {client.unanswered_count} touches from us since they last replied."))
    extra = heads_up_blocks(client, heads_up) if heads_up else []
    return b.reply(f"Logged {LABELS[kind]} with {client.name}.", b.rich(*lines), *extra)


def cmd_checkin(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["checkin"]
    head, raw_note = split_note(args)
    match = find(session, ctx, head, usage)
    client = match.client
    rest = match.rest
    if re.fullmatch(r"done", rest, flags=re.I):
        note = clean_note(raw_note, usage)
        record_interaction(session, client, "checkin", "both", ctx.now, note, ctx.user_id, ctx.now)
        lines = [b.line(b.emoji("white_check_mark"), " Check-in with ", b.text(client.name, bold=True), " logged.")]
        if note:
            lines.append(b.line("How they feel: ", b.text(note, italic=True)))
        due = next_checkin(client)
        if due is not None:
            lines.append(b.line("Next one due ", b.date(due), "."))
        return b.reply(f"Check-in with {client.name} logged.", b.rich(*lines))
    if raw_note is not None:
        raise CommandError("Only 'checkin … done' takes a note after ':'.", usage)
    if re.fullmatch(r"off|never|none", rest, flags=re.I):
        client.checkin_count = client.checkin_unit = client.checkin_set_at = client.next_checkin_at = None
        audit.record(session, ctx.workspace_id, ctx.user_id, "checkin", ctx.now, client_id=client.id, detail="off")
        return b.reply(f"No regular check-ins for {client.name}.",
                       b.paragraph("No regular check-ins for ", b.text(client.name, bold=True), " any more."))
    every = re.fullmatch(r"every\s+(.+)", rest, flags=re.I)
    if not every:
        raise CommandError(f"Say 'every 2w' to set a rhythm or 'done' after a check-in with {client.name}.", usage)
    try:
        client.checkin_count, client.checkin_unit = parse_period(every.group(1))
    except WhenError as exc:
        raise CommandError(str(exc), usage) from None
    client.checkin_set_at = ctx.now
    due = next_checkin(client)
    assert due is not None
    client.next_checkin_at = due
    audit.record(session, ctx.workspace_id, ctx.user_id, "checkin", ctx.now, client_id=client.id,
                 detail=f"every {cadence(client)}")
    return b.reply(f"Check-in with {client.name} every {cadence(client)}.",
                   b.paragraph("Check in with ", b.text(client.name, bold=True), f" every {cadence(client)}; "
                               "next due ", b.date(due), ". Ask: “How are you feeling about everything?”"))


def _parse_referred(raw: str, usage: str) -> str:
    try:
        quoted = split_quoted(raw)
    except ClientLookupError as exc:
        raise CommandError(exc.message, usage) from None
    if quoted is not None:
        if quoted[1]:
            raise CommandError(f"I don't understand {quoted[1]!r} after the referred name.", usage)
        return clean_name(quoted[0], usage)
    return clean_name(raw, usage)


def cmd_referral(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["referral"]
    head, raw_note = split_note(args)
    note = clean_note(raw_note, usage)
    parts = re.split(r"\s*(?:-&gt;|->|→)\s*", head, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise CommandError("Put an arrow between who referred and who was referred, like "
                           "/client referral Acme Corp -> Beta Ltd.", usage)
    referrer = find_whole(session, ctx, parts[0], usage).client
    referred_name = _parse_referred(parts[1], usage)
    existing = clients_by_keys(session, ctx.workspace_id, [name_key(referred_name)])
    created = not existing
    if existing:
        referred = existing[0]
    else:
        referred = Client(
            workspace_id=ctx.workspace_id, name=referred_name, name_key=name_key(referred_name),
            owner_id=ctx.user_id, status="prospect", created_at=ctx.now, created_by=ctx.user_id,
            opted_out=False, no_winback=False, unanswered_count=0,
        )
        start_schedule(referred)
        session.add(referred)
        session.flush()
    if referred.id == referrer.id:
        raise CommandError("A client can't refer themselves.", usage)
    referral = Referral(workspace_id=ctx.workspace_id, referrer_id=referrer.id, referred_id=referred.id,
                        note=note, logged_by=ctx.user_id, created_at=ctx.now)
    start_referral(referral)
    session.add(referral)
    session.flush()
    return thank_you_prompt(session, referral, referrer, referred, created)


def thank_you_prompt(session: Session, referral: Referral, referrer: Client, referred: Client,
                     created: bool) -> b.Reply:
    contact = primary_contact(session, referrer.id)
    who: list[b.Element | str] = [b.text(contact.name, bold=True), " at "] if contact else []
    first = [b.emoji("pray"), " Thank ", *who, b.text(referrer.name, bold=True), " for introducing ",
             b.text(referred.name, bold=True), "."]
    greeting = f"Hi {contact.name.split()[0]}, " if contact else ""
    suggested = (f"{greeting}thank you for introducing us to {referred.name}. It means a lot that you'd "
                 "trust us with them, and we'll take good care of them.")
    lines = [b.line(*first)]
    if created:
        lines.append(b.line(b.text(referred.name, bold=True), " is new, so I added them as a prospect."))
    lines.append(b.line("A line you could send:"))
    quote = {"type": "rich_text_quote", "elements": [b.text(suggested)]}
    others = len(open_referrals_from(session, referral.workspace_id, referrer.id)) - 1
    blocks = [b.rich(*lines, quote)]
    if others > 0:
        blocks.append(b.context(f"{others} earlier referral{'s' if others > 1 else ''} from this client "
                                "also await thanks; marking thanked covers them all."))
    blocks.append(b.actions(b.button("Mark thanked", "referral_thanked", str(referral.id), style="primary"),
                            block_id="referral"))
    return b.reply(f"Thank {referrer.name} for introducing {referred.name}.", *blocks)


def cmd_thanked(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["thanked"]
    referrer = find_whole(session, ctx, args, usage).client
    return _thank(session, ctx, referrer, usage)


def _thank(session: Session, ctx: Context, referrer: Client, usage: str | None) -> b.Reply:
    referrer = lock_found(session, ctx, referrer)  # of two at once, the second finds nothing left to thank
    open_ones = open_referrals_from(session, ctx.workspace_id, referrer.id)
    if not open_ones:
        raise CommandError(f"No referrals from {referrer.name} are waiting for thanks.", usage)
    mark_referrals_thanked(session, [r.id for r in open_ones], ctx.user_id, ctx.now)
    names = ", ".join(r.referred.name for r in open_ones)
    return b.reply(f"Marked {referrer.name} as thanked.",
                   b.paragraph(b.emoji("white_check_mark"), " ", b.user(ctx.user_id), " thanked ",
                               b.text(referrer.name, bold=True), " for introducing ", b.text(names, bold=True),
                               " (", b.date(ctx.now), ")."))


def thanked_from_button(session: Session, ctx: Context, referral_id: int) -> b.Reply:
    """Mark thanked on the referral prompt; of two clicks at once the second is answered "Already handled by …"
    (the referrer's lock is taken before the referral is read)."""
    referrer_id = referrer_id_of(session, ctx.workspace_id, referral_id)
    referrer = lock_client(session, ctx.workspace_id, referrer_id) if referrer_id is not None else None
    referral = get_referral(session, ctx.workspace_id, referral_id) if referrer is not None else None
    if referrer is None or referral is None:
        return b.reply("That referral is gone.", b.paragraph("That referral no longer exists "
                                                              "(the client may have been forgotten)."))
    if referral.thanked_at is not None:
        return already_handled(f"thanked {referrer.name} for this one", referral.thanked_by, referral.thanked_at)
    return _thank(session, ctx, referrer, None)
