"""Commands that create and change clients: add, rename, owner, channel, snooze, end, optout, reactivate, forget."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import audit
from bot.commands.common import (
    clean_name,
    clean_note,
    find,
    find_whole,
    locked_for_owner,
    require_new_owner,
    require_owner_or_admin,
    split_note,
)
from bot.commands.matching import ClientLookupError, split_quoted
from bot.commands.usage import USAGE
from bot.nudges import ranking, rules
from bot.relationship.facts import cadence, next_checkin
from bot.relationship.schedule import refresh, start_schedule
from bot.relationship.value import AmountError, format_value, parse_value
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.slack.handled import already_handled
from bot.slack.text import channel_id, user_id
from bot.when import WhenError, add_period, describe_period, parse_period
from bot.workspaces import workspace_zone
from storage.audit import forgotten_event
from storage.clients import clients_by_keys, lock_client
from storage.erasure import delete_client
from storage.handoffs import move_open_goals
from storage.interactions import count_history
from storage.models import Client, Contact, Workspace
from storage.names import name_key
from storage.value import value_median, value_standing

ADD_KEYWORDS = ("every", "owner", "channel", "contact")


@dataclass(frozen=True)
class AddRequest:
    name: str
    every: tuple[int, str] | None = None
    owner: str | None = None
    channel: str | None = None
    contact: str | None = None


def parse_add(args: str) -> AddRequest:
    usage = USAGE["add"]
    try:
        quoted = split_quoted(args)
    except ClientLookupError as exc:
        raise CommandError(exc.message, usage) from None
    if quoted is not None:
        raw_name, rest = quoted
    else:
        words = args.split()
        cut = next((i for i, w in enumerate(words) if w.lower() in ADD_KEYWORDS), len(words))
        if cut == 0 and words:
            raise CommandError(
                f"A name can't start with {words[0]!r}: put names that contain "
                f"{', '.join(ADD_KEYWORDS)} in quotes, like /client add \"Every Day Foods\" every 7d",
                usage,
            )
        raw_name, rest = " ".join(words[:cut]), " ".join(words[cut:])
    name = clean_name(raw_name, usage)

    options: dict[str, str] = {}
    current: str | None = None
    for word in rest.split():
        if word.lower() in ADD_KEYWORDS:
            current = word.lower()
            if current in options:
                raise CommandError(f"{current!r} is given twice.", usage)
            options[current] = ""
        elif current is None:
            raise CommandError(f"I don't understand {word!r} after the name.", usage)
        else:
            options[current] = f"{options[current]} {word}".strip()

    request = AddRequest(name=name)
    for key, value in options.items():
        if not value:
            raise CommandError(f"{key!r} needs a value.", usage)
    if "every" in options:
        try:
            request = _replace(request, every=parse_period(options["every"]))
        except WhenError as exc:
            raise CommandError(str(exc), usage) from None
    if "owner" in options:
        owner = user_id(options["owner"])
        if owner is None:
            raise CommandError("owner needs an @mention of a person, like owner @ana.", usage)
        request = _replace(request, owner=owner)
    if "channel" in options:
        channel = channel_id(options["channel"])
        if channel is None:
            raise CommandError("channel needs a #channel picked from Slack's list, like channel #acme.", usage)
        request = _replace(request, channel=channel)
    if "contact" in options:
        request = _replace(request, contact=clean_name(options["contact"], usage))
    return request


def _replace(request: AddRequest, **changes: object) -> AddRequest:
    return AddRequest(**{**request.__dict__, **changes})


def _ensure_name_free(session: Session, ctx: Context, name: str, usage: str, allow: Client | None = None) -> None:
    existing = clients_by_keys(session, ctx.workspace_id, [name_key(name)])
    if existing and existing[0] is not allow:
        other = existing[0]
        hint = " (a former client: /client reactivate brings them back)" if other.status == "former" else ""
        raise CommandError(f"There is already a client called {other.name}{hint}.", usage)


def cmd_add(session: Session, ctx: Context, args: str) -> b.Reply:
    if not args.strip():
        raise CommandError("Give the new client a name.", USAGE["add"])
    request = parse_add(args)
    if request.owner:
        require_new_owner(session, ctx, request.owner, USAGE["add"])
    _ensure_name_free(session, ctx, request.name, USAGE["add"])
    client = Client(
        workspace_id=ctx.workspace_id,
        name=request.name,
        name_key=name_key(request.name),
        owner_id=request.owner or ctx.user_id,
        channel_id=request.channel,
        status="active",
        created_at=ctx.now,
        created_by=ctx.user_id,
        opted_out=False,
        no_winback=False,
        unanswered_count=0,
    )
    if request.every:
        client.checkin_count, client.checkin_unit = request.every
        client.checkin_set_at = ctx.now
    start_schedule(client)
    session.add(client)
    session.flush()
    if request.contact:
        session.add(
            Contact(workspace_id=ctx.workspace_id, client_id=client.id, name=request.contact,
                    name_key=name_key(request.contact), role="primary", is_primary=True, created_at=ctx.now,
                    created_by=ctx.user_id)
        )
    audit.record(session, ctx.workspace_id, ctx.user_id, "created", ctx.now, client_id=client.id)
    details: list[b.Element | str] = ["Owner ", b.user(client.owner_id)]
    if client.channel_id:
        details += [" · nudges in ", b.channel(client.channel_id)]
    if request.contact:
        details += [" · primary contact ", b.text(request.contact, bold=True)]
    lines = [b.line(b.emoji("white_check_mark"), " Added ", b.text(client.name, bold=True), "."), b.line(*details)]
    due = next_checkin(client)
    if due is not None:
        lines.append(b.line(f"Check-in every {cadence(client)}, first one due ", b.date(due), "."))
    lines.append(b.line("Next: ", b.text(f"/client log {client.name} call", code=True)))
    return b.reply(f"Added {client.name}.", b.rich(*lines))


def cmd_rename(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["rename"]
    match = find(session, ctx, args, usage)
    found = re.fullmatch(r"to\s+(.+)", match.rest, flags=re.S | re.I)
    if not found:
        raise CommandError(f"Say the new name after 'to', like /client rename {match.client.name} to New Name.", usage)
    new_raw = found.group(1)
    quoted = split_quoted(new_raw)
    if quoted is not None:
        if quoted[1]:
            raise CommandError(f"I don't understand {quoted[1]!r} after the new name.", usage)
        new_raw = quoted[0]
    new_name = clean_name(new_raw, usage)
    client = match.client
    _ensure_name_free(session, ctx, new_name, usage, allow=client)
    old = client.name
    client.name, client.name_key = new_name, name_key(new_name)
    audit.record(session, ctx.workspace_id, ctx.user_id, "renamed", ctx.now, client_id=client.id,
                 detail=f"{old} → {new_name}")
    return b.reply(f"Renamed {old} to {new_name}.",
                   b.paragraph("Renamed ", b.text(old, bold=True), " to ", b.text(new_name, bold=True), "."))


def cmd_owner(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["owner"]
    match = find(session, ctx, args, usage)
    owner = user_id(match.rest)
    if owner is None:
        raise CommandError(f"Name the new owner with an @mention, like /client owner {match.client.name} @ana.", usage)
    client = locked_for_owner(session, ctx, match.client, "change who owns")
    require_new_owner(session, ctx, owner, usage)
    if owner == client.owner_id:
        raise CommandError(f"{client.name} is already owned by that person: nothing to change.", usage)
    client.owner_id = owner
    move_open_goals(session, client.id, owner)  # an open goal is its client's owner's (closed ones stay put)
    audit.record(session, ctx.workspace_id, ctx.user_id, "owner", ctx.now, client_id=client.id, detail=owner)
    return b.reply(f"{client.name} is now owned by someone new.",
                   b.paragraph(b.user(owner), " now owns ", b.text(client.name, bold=True), "."))


def cmd_channel(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["channel"]
    words = args.split()
    workspace_channel = channel_id(words[1]) if len(words) == 2 and words[0].lower() == "default" else None
    if workspace_channel is not None:
        require_admin(ctx, "change the default nudge channel")
        workspace = session.get(Workspace, ctx.workspace_id)
        assert workspace is not None, "the dispatcher creates the workspace before any command runs"
        workspace.default_channel_id = workspace_channel
        audit.record(session, ctx.workspace_id, ctx.user_id, "default_channel", ctx.now, detail=workspace_channel)
        return b.reply("Default nudge channel set.",
                       b.paragraph("Nudges for clients without a channel of their own now go to ",
                                   b.channel(workspace_channel), "."))
    match = find(session, ctx, args, usage)
    client = match.client
    if match.rest.lower() in ("none", "off", "default"):
        client.channel_id = None
        audit.record(session, ctx.workspace_id, ctx.user_id, "channel", ctx.now, client_id=client.id)
        return b.reply(f"{client.name} uses the default channel.",
                       b.paragraph("Nudges about ", b.text(client.name, bold=True),
                                   " now go to the default channel (or the owner's DMs)."))
    new_channel = channel_id(match.rest)
    if new_channel is None:
        raise CommandError(f"Pick the channel from Slack's list, like /client channel {client.name} #acme.", usage)
    client.channel_id = new_channel
    audit.record(session, ctx.workspace_id, ctx.user_id, "channel", ctx.now, client_id=client.id, detail=new_channel)
    return b.reply(f"Nudges about {client.name} go to a new channel.",
                   b.paragraph("Nudges about ", b.text(client.name, bold=True), " now go to ",
                               b.channel(new_channel), "."))


def cmd_snooze(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["snooze"]
    match = find(session, ctx, args, usage)
    if not match.rest:
        raise CommandError(f"For how long? Like /client snooze {match.client.name} 2w.", usage)
    try:
        count, unit = parse_period(match.rest)
    except WhenError as exc:
        raise CommandError(str(exc), usage) from None
    until = add_period(ctx.now, count, unit)
    match.client.snoozed_until = until
    return b.reply(f"Snoozed {match.client.name} for {describe_period(count, unit)}.",
                   b.paragraph(b.emoji("zzz"), " No nudges about ", b.text(match.client.name, bold=True),
                               " until ", b.date(until), "."))


def cmd_end(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["end"]
    head, note = split_note(args)
    reason = clean_note(note, usage)
    match = find(session, ctx, head, usage)
    flag = match.rest.lower().replace(" ", "-")
    if flag not in ("", "no-winback", "nowinback"):
        raise CommandError(f"I don't understand {match.rest!r}; the only option is no-winback.", usage)
    client = match.client
    if client.status == "former":
        raise CommandError(f"{client.name} is already a former client (since {client.ended_at:%Y-%m-%d}).", usage)
    client.status, client.ended_at, client.end_reason = "former", ctx.now, reason
    client.no_winback = bool(flag)
    client.winback_nudges = 0
    client.next_winback_at = rules.winback_start(ctx.now, client.no_winback, client.opted_out)
    audit.record(session, ctx.workspace_id, ctx.user_id, "ended", ctx.now, client_id=client.id,
                 detail="; ".join(part for part in (reason or "", "no win-back" if client.no_winback else "") if part))
    follow = ("No win-back touches will be suggested." if client.no_winback or client.opted_out
              else "In 90 days Rapport will suggest asking for honest feedback.")
    return b.reply(f"{client.name} is now a former client.",
                   b.paragraph(b.text(client.name, bold=True), " is now a former client. " + follow))


def cmd_optout(session: Session, ctx: Context, args: str) -> b.Reply:
    client = find_whole(session, ctx, args, USAGE["optout"]).client
    client.opted_out = True
    client.next_winback_at = None
    audit.record(session, ctx.workspace_id, ctx.user_id, "opted_out", ctx.now, client_id=client.id)
    return b.reply(f"{client.name} opted out.",
                   b.paragraph(b.text(client.name, bold=True),
                               " has opted out: Rapport will never suggest reaching out to them after they leave."))


def cmd_reactivate(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["reactivate"]
    client = find_whole(session, ctx, args, usage).client
    if client.status == "active":
        raise CommandError(f"{client.name} is already active.", usage)
    client.status, client.ended_at, client.no_winback = "active", None, False
    client.winback_nudges, client.next_winback_at = 0, None  # they are back: the series is over
    refresh(session, client, ctx.now)
    audit.record(session, ctx.workspace_id, ctx.user_id, "reactivated", ctx.now, client_id=client.id)
    return b.reply(f"{client.name} is active again.",
                   b.paragraph(b.emoji("tada"), " ", b.text(client.name, bold=True), " is active again."))


def cmd_forget(session: Session, ctx: Context, args: str) -> b.Reply:
    client = find_whole(session, ctx, args, USAGE["forget"]).client
    require_owner_or_admin(ctx, client, "forget")
    interactions, referrals = count_history(session, client.id)
    body = (f"This permanently deletes it with {interactions} logged "
            f"{'entry' if interactions == 1 else 'entries'} and {referrals} "
            f"{'referral' if referrals == 1 else 'referrals'}. It cannot be undone.")
    return b.reply(
        f"Forget {client.name}? {body}",
        b.paragraph(b.emoji("warning"), " Forget ", b.text(client.name, bold=True), "? " + body),
        b.actions(
            b.button(f"Forget {client.name}", "forget_confirm", str(client.id), style="danger",
                     confirm=b.confirm_dialog("Forget for good?", body, "Forget")),
            b.button("Cancel", "forget_cancel", str(client.id)),
            block_id="forget",
        ),
    )


def cmd_timezone(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["timezone"]
    workspace = session.get(Workspace, ctx.workspace_id)
    assert workspace is not None, "the dispatcher creates the workspace before any command runs"
    name = args.strip()
    if not name:
        current = (f"This workspace's timezone is {workspace.timezone}." if workspace.timezone else
                   "This workspace uses the deployment's timezone (RAPPORT_TIMEZONE).")
        return b.reply(current, b.paragraph(current + " Business hours and the weekly digest are read in it."))
    zone = workspace_zone(name)
    if zone is None:
        raise CommandError(f"{name!r} is not a timezone I know: use an IANA name like Europe/London or "
                           "America/New_York.", usage)
    require_admin(ctx, "change the workspace's timezone")
    workspace.timezone = zone
    audit.record(session, ctx.workspace_id, ctx.user_id, "timezone", ctx.now, detail=zone)
    return b.reply(f"Timezone set to {zone}.",
                   b.paragraph("This workspace's business hours and weekly digest now follow ", b.text(zone, bold=True),
                               "."))


def require_admin(ctx: Context, doing: str) -> None:
    """Workspace-wide settings are for workspace admins."""
    if not ctx.is_admin():
        raise CommandError(f"Only a workspace admin can {doing}. Ask an admin.")


def forget_confirmed(session: Session, ctx: Context, client_id: int) -> b.Reply:
    client = lock_client(session, ctx.workspace_id, client_id)  # of two confirmations at once, one forgets
    if client is None:
        forgotten = forgotten_event(session, ctx.workspace_id, client_id)
        if forgotten is not None:
            return already_handled("forgot the client", forgotten.actor_id, forgotten.at)
        return b.reply("Already forgotten.", b.paragraph("That client has already been forgotten."))
    require_owner_or_admin(ctx, client, "forget")
    name = client.name
    delete_client(session, client)  # its history of changes too: erasure means no name is left behind
    audit.record(session, ctx.workspace_id, ctx.user_id, "forgotten", ctx.now, client_id=client_id)
    return b.reply(f"Forgot {name}.", b.paragraph(b.emoji("wastebasket"), " Forgot ", b.text(name, bold=True),
                                                  " and all its history. ", b.user(ctx.user_id), " did this ",
                                                  b.date(ctx.now, "{date_short_pretty} at {time}"), "."))



def cmd_value(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["value"]
    match = find(session, ctx, args, usage)
    client = match.client
    if not match.rest:
        return b.reply(f"{client.name}: value", b.paragraph(*value_words(session, ctx.workspace_id, client)))
    try:
        value = parse_value(match.rest)
    except AmountError as exc:
        raise CommandError(str(exc), usage) from None
    client.value = value
    audit.record(session, ctx.workspace_id, ctx.user_id, "value", ctx.now, client_id=client.id,
                 detail=format_value(value) if value is not None else "cleared")
    session.flush()
    words = value_words(session, ctx.workspace_id, client)
    return b.reply(f"{client.name}: value {'cleared' if value is None else format_value(value)}.",
                   b.paragraph(*words, " Rapport ranks what you hear about first by it."))


def value_words(session: Session, workspace_id: int, client: Client) -> list[b.Element | str]:
    """'Acme Corp is worth 250,000 a year, top 10% of your clients by value.' or how an unset value ranks."""
    name = b.text(client.name, bold=True)
    if client.value is None:
        median = value_median(session, workspace_id)
        ranks = (f"it ranks as the median of those set ({format_value(round(median))})" if median is not None
                 else "it ranks like every other client until values are set")
        return [name, f" has no value set: {ranks}. Set one with /client value {client.name} 250k."]
    above, total = value_standing(session, workspace_id, client.value)
    standing = ranking.value_standing_words(above, total)
    return [name, f" is worth {format_value(client.value)} a year" + (f", {standing}" if standing else "") + "."]
