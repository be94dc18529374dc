"""How a client's people read on its card (PRODUCT.md §4.13): the primary contact (the advocate), sponsors and
others, who is tied to a Slack user, a heads-up still owed to the advocate, and the advocate leaving a linked
channel (a warning sign)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.slack import blocks as b
from storage.contacts import contacts_by_role
from storage.models import Client, Contact, Interaction


def _who(contact: Contact) -> list[b.Element | str]:
    parts: list[b.Element | str] = [b.text(contact.name, bold=True)]
    if contact.slack_user_id:
        parts += [" (", b.user(contact.slack_user_id), ")"]
    return parts


def _listed(contacts: list[Contact]) -> list[b.Element | str]:
    parts: list[b.Element | str] = []
    for index, contact in enumerate(contacts):
        parts += ([", "] if index else []) + _who(contact)
    return parts


def contact_lines(session: Session, client: Client, left: Sequence[Interaction]) -> list[b.Block]:
    """`left`: the 'left' warning signs to show (a contact leaving a linked channel), newest first."""
    people = contacts_by_role(session, client.id)
    lines: list[b.Block] = []
    primary = [c for c in people if c.is_primary]
    sponsors = [c for c in people if c.role == "sponsor"]
    others = [c for c in people if not c.is_primary and c.role != "sponsor"]
    if primary:
        lines.append(b.line("Primary contact: ", *_who(primary[0]), " · the advocate"))
    if sponsors:
        lines.append(b.line("Sponsors: ", *_listed(sponsors)))
    if others:
        lines.append(b.line("Other contacts: ", *_listed(others)))
    if client.heads_up_since is not None and primary:
        sponsor = next((c for c in people if c.id == client.heads_up_sponsor_id), None)
        about: list[b.Element | str] = [" (you spoke with ", b.text(sponsor.name, bold=True), ")"] if sponsor else []
        lines.append(b.line(b.emoji("raised_hand"), " ", b.text(primary[0].name, bold=True),
                            " is owed a heads-up since ", b.date(client.heads_up_since), *about, "."))
    names = {c.id: c.name for c in people}
    for sign in left:
        who = names.get(sign.contact_id or 0, "Their advocate")
        lines.append(b.line(b.emoji("warning"), " ", b.text(who, bold=True), " left ",
                            *([b.channel(sign.channel_id)] if sign.channel_id else ["a linked channel"]), " on ",
                            b.date(sign.occurred_at), ": a warning sign."))
    return lines
