"""`/client mail` (where to send mail, what was captured and skipped), `/client mail rotate` and `/client mail ours`
(admins), and `/client domain` (PRODUCT.md §3, §4.15)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import audit
from bot.addresses import is_free_mail, is_public_suffix, normalize_domain, shown_domain
from bot.capture.mail.summary import last_week, new_key
from bot.commands.common import find, require_owner_or_admin
from bot.commands.manage import require_admin
from bot.commands.usage import USAGE
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.workspaces import tz_of
from storage.mail import (
    add_client_domain,
    client_domain,
    domains_of,
    key_of,
    our_domains,
    set_key,
    set_our_domains,
)
from storage.models import Client, Workspace

PROVIDERS = (("Postmark (inbound webhook)", "postmark"), ("SendGrid (Inbound Parse)", "sendgrid"),
             ("Mailgun (a route forwarding to a URL)", "mailgun"), ("One raw message (RFC 822)", "mime"))
MAX_DOMAINS = 20


def cmd_mail(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["mail"]
    words = args.split()
    workspace = session.get(Workspace, ctx.workspace_id)
    assert workspace is not None, "the dispatcher creates the workspace before any command runs"
    if not words:
        return _mail_card(session, ctx, workspace)
    if words[0].lower() == "rotate" and len(words) == 1:
        require_admin(ctx, "issue a new inbound mail key")
        set_key(session, ctx.workspace_id, new_key(), ctx.user_id, ctx.now)
        audit.record(session, ctx.workspace_id, ctx.user_id, "mail_key", ctx.now)
        return _mail_card(session, ctx, workspace, "A new key is in place: mail and webhooks that use the old one "
                                                   "are refused from now on. Update your BCC address and webhooks.")
    if words[0].lower() == "ours":
        if len(words) == 1:
            return _mail_card(session, ctx, workspace)
        require_admin(ctx, "set your own domains")
        domains = [_domain(word, usage) for word in words[1:]]
        if len(set(domains)) > MAX_DOMAINS:
            raise CommandError(f"At most {MAX_DOMAINS} domains of your own.", usage)
        for domain in domains:
            shown = shown_domain(domain)
            if is_public_suffix(domain):
                raise CommandError(f"{shown} is a public suffix: anyone can register a name under it, so it cannot "
                                   f"say who is yours. Give your organisation's own domain (like agency.{shown}).",
                                   usage)
            if is_free_mail(domain):
                raise CommandError(f"{shown} is a free-mail domain: people outside your team have addresses there "
                                   "too, so it cannot say who is yours. Give your organisation's own domain.", usage)
            taken = client_domain(session, ctx.workspace_id, domain)
            if taken is not None:
                owner = session.get(Client, taken.client_id)
                raise CommandError(f"{shown} is {owner.name if owner else 'a client'}'s domain; a domain is either a "
                                   "client's or yours. Remove it there first: /client domain <client> "
                                   f"{shown} remove", usage)
        set_our_domains(session, ctx.workspace_id, domains, ctx.user_id, ctx.now)
        audit.record(session, ctx.workspace_id, ctx.user_id, "mail_ours", ctx.now,
                     detail=", ".join(sorted(set(domains))))
        return _mail_card(session, ctx, workspace, "Your own domains are set: mail from them to a client counts as "
                                                   "yours, and mail among them only is not a touch.")
    raise CommandError(f"I don't understand {args.strip()!r}.", usage)


def _mail_card(session: Session, ctx: Context, workspace: Workspace, done: str | None = None) -> b.Reply:
    key = key_of(session, ctx.workspace_id)
    if key is None:  # the first to ask gets the workspace its key
        key = set_key(session, ctx.workspace_id, new_key(), ctx.user_id, ctx.now)
    settings = ctx.settings
    lines: list[b.Block] = []
    if done:
        lines.append(b.line(b.emoji("white_check_mark"), " ", done))
    if settings.mail_domain:
        lines.append(b.line("BCC or forward client mail to ", b.text(f"{key.key}@{settings.mail_domain}", code=True),
                            " (invitations too). Forwarded mail counts as the original, not as yours."))
    else:
        lines.append(b.line("No inbound address yet: whoever runs Rapport sets RAPPORT_MAIL_DOMAIN (and runs ",
                            b.text("rapport mail-server", code=True), " or points a mail provider here)."))
    if settings.public_url:
        lines.append(b.line("Or have a mail provider post what it receives to:"))
        lines.append(b.bullets([b.line(label, ": ", b.text(f"{settings.public_url}/mail/{path}/{key.key}", code=True))
                                for label, path in PROVIDERS]))
    else:
        lines.append(b.line("Webhook URLs need RAPPORT_PUBLIC_URL (where mail providers reach Rapport); "
                            "whoever runs Rapport sets it."))
    ours = our_domains(session, ctx.workspace_id)
    if ours:
        lines.append(b.line("Your own domains: ", b.text(", ".join(shown_domain(d) for d in ours), bold=True),
                            ". Change them (admins): ", b.text("/client mail ours <domain> …", code=True)))
    else:
        lines.append(b.line(b.emoji("warning"), " Your own domains are not set, so only mail from clients counts "
                            "yet: mail from your people is skipped until an admin runs ",
                            b.text("/client mail ours yourcompany.com", code=True), "."))
    week = last_week(session, ctx.workspace_id, ctx.now, tz_of(workspace, settings.tz))
    lines.append(b.line(b.text("Last 7 days", bold=True), ": ", week.line()))
    lines.append(b.line("Matched by a contact's address (",
                        b.text("/client contact <client> <name> <email>", code=True), ") or a client's domain (",
                        b.text("/client domain <client> <domain>", code=True),
                        "). Rapport keeps who, when and which way, never a subject, body or attachment."))
    return b.reply("Capture from email and calendars", b.header("Capture from email and calendars"), b.rich(*lines))


def _domain(word: str, usage: str) -> str:
    domain = normalize_domain(word)
    if domain is None:
        raise CommandError(f"{word!r} is not a domain; give one like acme.com.", usage)
    return domain


def _example(name: str) -> str:
    """A name under a public suffix for a refusal's example: the client's first word, if it can be a label."""
    word = "".join(c for c in name.split()[0].lower() if c.isascii() and c.isalnum()) if name.split() else ""
    return word or "yourclient"


def cmd_domain(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["domain"]
    match = find(session, ctx, args, usage)
    client, words = match.client, match.rest.split()
    if not words:
        known = domains_of(session, client.id)
        listed = ", ".join(shown_domain(d) for d in known) if known else "none yet"
        return b.reply(f"{client.name}'s domains: {listed}",
                       b.paragraph(b.text(client.name, bold=True), "'s domains: ", listed,
                                   ". Mail from or to an address at one of them counts as a touch with them."))
    if len(words) > 2 or (len(words) == 2 and words[1].lower() != "remove"):
        raise CommandError("Give one domain, and remove to take it away.", usage)
    domain = _domain(words[0], usage)
    shown = shown_domain(domain)  # stored as matching compares it (IDNA); shown as people write it
    existing = client_domain(session, ctx.workspace_id, domain)
    if len(words) == 2:
        if existing is None or existing.client_id != client.id:
            raise CommandError(f"{shown} is not one of {client.name}'s domains.", usage)
        require_owner_or_admin(ctx, client, "remove a domain of")
        session.delete(existing)
        audit.record(session, ctx.workspace_id, ctx.user_id, "domain_removed", ctx.now, client_id=client.id,
                     detail=domain)
        return b.reply(f"Removed {shown} from {client.name}.", b.paragraph(
            "Mail at ", b.text(shown, bold=True), " no longer counts for ", b.text(client.name, bold=True),
            " (touches already recorded stay)."))
    if is_public_suffix(domain):
        raise CommandError(f"{shown} is a public suffix: anyone can register a name under it, so it is no one "
                           f"organisation's domain and would match strangers. Give {client.name}'s own domain "
                           f"(like {_example(client.name)}.{shown}).", usage)
    if is_free_mail(domain):
        raise CommandError(f"{shown} is a free-mail domain: anyone can have an address there, so Rapport never "
                           f"matches a client by it. Add the person instead, with their address: /client contact "
                           f"{client.name} <name> someone@{shown}", usage)
    if domain in our_domains(session, ctx.workspace_id):
        raise CommandError(f"{shown} is one of your own domains (/client mail ours), so it cannot be a client's.",
                           usage)
    if existing is not None:
        if existing.client_id == client.id:
            return b.reply(f"{shown} is already {client.name}'s.", b.paragraph(
                b.text(shown, bold=True), " is already one of ", b.text(client.name, bold=True), "'s domains."))
        other = session.get(Client, existing.client_id)
        raise CommandError(f"{shown} is already {other.name if other else 'another client'}'s domain. A domain "
                           "belongs to one client; add people of the other by their address: /client contact "
                           f"{client.name} <name> someone@{shown}", usage)
    add_client_domain(session, ctx.workspace_id, client.id, domain, ctx.user_id, ctx.now)
    audit.record(session, ctx.workspace_id, ctx.user_id, "domain", ctx.now, client_id=client.id, detail=domain)
    return b.reply(f"Added {shown} to {client.name}.", b.paragraph(
        b.emoji("inbox_tray"), " Mail from or to anyone at ", b.text(shown, bold=True),
        " (and its subdomains) now counts "
        "as a touch with ", b.text(client.name, bold=True), ", unless their address is another client's contact."))
