"""`/client contact` (a client's people and their roles), `log … with <contact>`, and the advocate-first heads-up
a touch with a sponsor may call for (PRODUCT.md §3, §4.13)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from bot import audit
from bot.commands.common import clean_name, find, locked_for_owner
from bot.commands.usage import USAGE
from bot.people.contacts import ContactRuleError, remove_contact, save_contact
from bot.people.heads_up import HeadsUp, after_touch, gave_heads_up
from bot.people.matching import ContactLookupError, find_contact
from bot.people.roles import PRIMARY, ROLE_LABELS, ContactWordsError, read_contact_words
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.slack.handled import already_handled
from bot.slack.text import user_id as mentioned_user
from bot.workspaces import tz_of
from storage.clients import lock_client
from storage.contacts import contacts_by_role, last_heads_up
from storage.models import Client, Contact, Interaction, Workspace

HEADS_UP_ACTION = "heads_up_given"


def _slack_user(ctx: Context, word: str, usage: str) -> str:
    """The Slack user a contact is tied to: a real person Slack knows, named by a mention."""
    found = mentioned_user(word)
    if found is None:
        raise CommandError(f"{word!r} is not a Slack user I can see: mention them (type @ and pick them from the "
                           "list) so Slack fills in who it is.", usage)
    info = ctx.someone(found)
    if info is None:
        return found  # Slack could not be asked: the mention Slack escaped is taken as given
    if not info.found or info.deleted:
        raise CommandError(f"Slack doesn't know <@{found}> as an active user; tie the contact to a person who is "
                           "in a channel you share with them.", usage)
    if info.is_bot:
        raise CommandError(f"<@{found}> is a bot, not a person: a contact is one of the client's people.", usage)
    return found


def cmd_contact(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["contact"]
    match = find(session, ctx, args, usage)
    client = match.client
    try:
        words = read_contact_words(match.rest)
    except ContactWordsError as exc:
        raise CommandError(str(exc), usage) from None
    name = clean_name(words.name, usage)
    if words.remove:
        client = locked_for_owner(session, ctx, client, "remove a contact of")
        try:
            gone = remove_contact(session, client, name, ctx.now)
        except ContactRuleError as exc:
            raise CommandError(str(exc), usage) from None
        audit.record(session, ctx.workspace_id, ctx.user_id, "contact_removed", ctx.now, client_id=client.id,
                     detail=gone.name)
        return b.reply(f"Removed {gone.name} from {client.name}'s contacts.", b.paragraph(
            b.emoji("wastebasket"), " Removed ", b.text(gone.name, bold=True), " from ", b.text(client.name, bold=True),
            "'s contacts. Touches logged with them stay in the history."))
    slack_user = _slack_user(ctx, words.user, usage) if words.user else None
    try:
        saved = save_contact(session, client, name, words.role, slack_user, ctx.user_id, ctx.now, email=words.email)
    except ContactRuleError as exc:
        raise CommandError(str(exc), usage) from None
    contact = saved.contact
    audit.record(session, ctx.workspace_id, ctx.user_id, "contact", ctx.now, client_id=client.id,
                 detail=f"{contact.name} ({ROLE_LABELS[contact.role]})")
    verb = "Added" if saved.created else "Updated"
    lines = [b.line(b.emoji("bust_in_silhouette"), f" {verb} ", b.text(contact.name, bold=True), ", ",
                    ROLE_LABELS[contact.role], " at ", b.text(client.name, bold=True), ".")]
    if contact.slack_user_id:
        lines.append(b.line("Tied to ", b.user(contact.slack_user_id),
                            ": their messages in a linked channel are touches with them."))
    if contact.email:
        lines.append(b.line("Address ", b.text(contact.email, code=True),
                            ": mail captured from or to it is a touch with them (see /client mail)."))
    if saved.demoted is not None:
        lines.append(b.line(b.text(saved.demoted.name, bold=True), " was the primary contact; now a contact."))
    if contact.role == PRIMARY:
        lines.append(b.line("Rapport keeps you from going behind the advocate's back: log touches ",
                            b.text(f"/client log {client.name} call with {contact.name}", code=True)))
    return b.reply(f"{verb} {contact.name} at {client.name}.", b.rich(*lines))


def split_with(rest: str) -> tuple[str, str | None]:
    """'call yesterday with Jane Doe' -> ('call yesterday', 'Jane Doe'), on the last ' with '."""
    parts = re.split(r"(?:^|\s+)with\s+", rest, flags=re.I)
    if len(parts) < 2:
        if re.search(r"(?:^|\s)with$", rest, flags=re.I):
            return re.sub(r"\s*with$", "", rest, flags=re.I), ""
        return rest, None
    return " with ".join(parts[:-1]), parts[-1].strip()


def contact_for_log(session: Session, client: Client, typed: str, usage: str) -> Contact:
    try:
        return find_contact(contacts_by_role(session, client.id), typed, client.name)
    except ContactLookupError as exc:
        raise CommandError(str(exc), usage) from None


def touch_contact(session: Session, touch: Interaction) -> Contact | None:
    """The contact a touch was found to be with (its note named them), when `with` did not say."""
    return session.get(Contact, touch.contact_id) if touch.contact_id is not None else None


def heads_up_after(session: Session, ctx: Context, client: Client, contact: Contact | None,
                   direction: str | None, when_at: datetime) -> HeadsUp | None:
    """Advocate first, after a touch logged `with` someone: business days in the workspace's timezone."""
    workspace = session.get(Workspace, ctx.workspace_id)
    zone = tz_of(workspace, ctx.user_tz()) if workspace is not None else ctx.user_tz()
    return after_touch(session, client, contact, direction, when_at, Settings.business_hours.days, zone)


def heads_up_blocks(client: Client, heads_up: HeadsUp) -> list[b.Block]:
    quote = {"type": "rich_text_quote", "elements": [b.text(heads_up.line)]}
    return [
        b.rich(b.line(b.emoji("raised_hand"), " ", b.text(heads_up.advocate.name, bold=True),
                      f", your advocate at {client.name}, hasn't heard from you in the last 2 business days. Give them "
                      "a heads-up that you spoke with ", b.text(heads_up.sponsor.name, bold=True),
                      ", so they never hear it from someone else first. A line you could send:"), quote),
        b.actions(b.button("Mark heads-up given", HEADS_UP_ACTION, str(client.id), style="primary"),
                  block_id="heads_up"),
    ]


def heads_up_given(session: Session, ctx: Context, client_id: int) -> b.Reply:
    """*Mark heads-up given*, on the reply to a touch with a sponsor: a touch from us with the advocate, which closes
    the episode. Of two clicks at once the second is answered "Already handled by …"."""
    client = lock_client(session, ctx.workspace_id, client_id)
    if client is None:
        return b.reply("That client is gone.", b.paragraph("That client no longer exists (it may have been "
                                                           "forgotten)."))
    if client.heads_up_since is None:
        given = last_heads_up(session, client.id)
        if given is not None:
            return already_handled(f"gave {given.name} a heads-up", given.by, given.at)
    advocate = gave_heads_up(session, client, ctx.user_id, ctx.now)
    if advocate is None:
        return b.error(f"{client.name} has no primary contact any more; nothing was logged.")
    return b.reply(f"Logged a heads-up to {advocate.name}.", b.paragraph(
        b.emoji("white_check_mark"), " ", b.user(ctx.user_id), " gave ", b.text(advocate.name, bold=True), " at ",
        b.text(client.name, bold=True), " a heads-up (", b.date(ctx.now), ")."))
