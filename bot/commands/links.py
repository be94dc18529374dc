"""Commands that link a client's conversation channel, whose messages then count as touches (PRODUCT.md §4.9)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import audit
from bot.commands.common import find
from bot.commands.usage import USAGE
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.slack.text import channel_id
from storage.capture import linked_channel, unlink
from storage.models import Client, LinkedChannel


def cmd_link(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["link"]
    match = find(session, ctx, args, usage)
    client = match.client
    channel = channel_id(match.rest)
    if channel is None:
        raise CommandError(f"Pick the channel from Slack's list, like /client link {client.name} #acme-shared.", usage)
    existing = linked_channel(session, ctx.workspace_id, channel)
    if existing is not None and existing.client_id == client.id:
        return b.reply("Already linked.", b.paragraph(b.channel(channel), " is already linked to ",
                                                      b.text(client.name, bold=True), "."))
    if existing is not None:
        other = session.get(Client, existing.client_id)
        raise CommandError(f"That channel is already linked to {other.name if other else 'another client'}; "
                           "unlink it there first.", usage)
    info = ctx.channel(channel)
    if info is None:
        raise CommandError("I couldn't ask Slack about that channel just now, so nothing was linked. Try again in "
                           "a minute.", usage)
    if not info.is_member:
        raise CommandError("I'm not in that channel, so I can't see its messages. Invite me there first "
                           "(/invite @Rapport in the channel), then link it again.", usage)
    session.add(LinkedChannel(workspace_id=ctx.workspace_id, client_id=client.id, channel_id=channel,
                              shared=info.shared, linked_by=ctx.user_id, linked_at=ctx.now))
    audit.record(session, ctx.workspace_id, ctx.user_id, "linked", ctx.now, client_id=client.id, detail=channel)
    head: list[b.Element | str] = [b.emoji("link"), " Linked ", b.channel(channel), " to ", b.text(client.name,
                                                                                                    bold=True), "."]
    if info.shared:
        more = ("It is shared with another workspace, so every message there counts as a touch: theirs as from "
                "them, your team's as from you, and a question of theirs that waits too long for an answer gets "
                "a nudge. Rapport keeps who wrote and when, never what was said.")
    else:
        more = (f"Nobody from another workspace is in it yet, so messages there are talk about {client.name}, not "
                "with them. They start counting as touches once the channel is shared with them (Slack Connect).")
    return b.reply(f"Linked a channel to {client.name}.", b.rich(b.line(*head), b.line(more)))


def cmd_unlink(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["unlink"]
    match = find(session, ctx, args, usage)
    client = match.client
    channel = channel_id(match.rest)
    if channel is None:
        raise CommandError(f"Pick the channel from Slack's list, like /client unlink {client.name} #acme-shared.",
                           usage)
    link = linked_channel(session, ctx.workspace_id, channel)
    if link is None or link.client_id != client.id:
        raise CommandError(f"That channel is not linked to {client.name}.", usage)
    unlink(session, link)
    audit.record(session, ctx.workspace_id, ctx.user_id, "unlinked", ctx.now, client_id=client.id, detail=channel)
    return b.reply(f"Unlinked a channel from {client.name}.", b.paragraph(
        "Unlinked ", b.channel(channel), " from ", b.text(client.name, bold=True),
        ": its messages no longer count as touches. Those already counted stay in the history."))
