"""A client's contacts: adding, changing and removing them, one primary at most (PRODUCT.md §4.13).

Naming a new primary demotes the old one (to `other`) in the same transaction; the database's one-primary index
backs this up against two commands at once. The primary contact cannot be removed while the client has other
contacts: name another primary first, so the client is never left with people but no advocate by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.people.roles import OTHER, PRIMARY
from bot.relationship.schedule import refresh
from storage.contacts import contact_named, contacts_by_role, demote_primary, set_role, unlink_touches
from storage.mail import contact_with_email
from storage.models import Client, Contact
from storage.names import name_key


class ContactRuleError(ValueError):
    pass


@dataclass(frozen=True)
class Saved:
    contact: Contact
    created: bool
    demoted: Contact | None = None  # the former primary, now `other`


def save_contact(session: Session, client: Client, name: str, role: str | None, slack_user_id: str | None,
                 user_id: str, now: datetime, *, email: str | None = None) -> Saved:
    """Add the contact, or change an existing one's role, Slack user or address. No role: a new contact is the
    primary when the client has none yet, else `other`; an existing one keeps its role. An address another of the
    client's contacts has is refused (ContactRuleError)."""
    existing = contact_named(session, client.id, name)
    if email is not None:
        holder = contact_with_email(session, client.id, email)
        if holder is not None and holder is not existing:
            raise ContactRuleError(f"{email} is {holder.name}'s address at {client.name} already.")
    people = contacts_by_role(session, client.id)
    has_primary = any(c.is_primary for c in people)
    default = existing.role if existing is not None else OTHER if has_primary else PRIMARY
    role = role or default
    demoted = None
    if role == PRIMARY and (existing is None or not existing.is_primary):
        demoted = demote_primary(session, client.id)
    if existing is None:
        contact = Contact(workspace_id=client.workspace_id, client_id=client.id, name=name, name_key=name_key(name),
                          role=role, is_primary=role == PRIMARY, slack_user_id=slack_user_id, created_at=now,
                          created_by=user_id, email=email)
        session.add(contact)
    else:
        contact = existing
        set_role(contact, role)
        if slack_user_id is not None:
            contact.slack_user_id = slack_user_id
        if email is not None:
            contact.email = email
    session.flush()
    if role == PRIMARY or demoted is not None:
        refresh(session, client, now)  # whose silence the advocate-quiet rule watches changed
    return Saved(contact, existing is None, demoted)


def remove_contact(session: Session, client: Client, name: str, now: datetime) -> Contact:
    contact = contact_named(session, client.id, name)
    if contact is None:
        known = ", ".join(c.name for c in contacts_by_role(session, client.id)) or "none yet"
        raise ContactRuleError(f"{client.name} has no contact named {name!r}. Its contacts: {known}.")
    others = [c for c in contacts_by_role(session, client.id) if c.id != contact.id]
    if contact.is_primary and others:
        raise ContactRuleError(
            f"{contact.name} is {client.name}'s primary contact (the advocate). Name another primary first, like "
            f"/client contact {client.name} {others[0].name} primary, then remove {contact.name}.")
    if client.heads_up_sponsor_id == contact.id:
        client.heads_up_sponsor_id = None
    unlink_touches(session, contact.id)
    session.delete(contact)
    session.flush()
    if contact.is_primary:
        refresh(session, client, now)
    return contact
