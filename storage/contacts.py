"""Queries for a client's people (PRODUCT.md §4.13): contacts with roles, the Slack user each may be tied to, and
the touches had with each. Each takes the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from storage.models import Contact, Interaction
from storage.names import name_key

PRIMARY = "primary"


_CONTACTS = select(Contact).where(Contact.client_id == bindparam("client_id"))  # built once: every card reads it


def contacts_by_role(session: Session, client_id: int) -> list[Contact]:
    """The client's contacts, primary first, then sponsors, then the others, each group by name."""
    order = {"primary": 0, "sponsor": 1}
    found = session.scalars(_CONTACTS, {"client_id": client_id})
    return sorted(found, key=lambda c: (order.get(c.role, 2), c.name_key))


def contacts_of_clients(session: Session, client_ids: Sequence[int]) -> dict[int, list[Contact]]:
    """Each client's contacts in one query (CSV export, App Home)."""
    found: dict[int, list[Contact]] = {}
    if client_ids:
        for contact in session.scalars(select(Contact).where(Contact.client_id.in_(list(client_ids)))
                                       .order_by(Contact.client_id, Contact.id)):
            found.setdefault(contact.client_id, []).append(contact)
    order = {"primary": 0, "sponsor": 1}
    return {k: sorted(v, key=lambda c: (order.get(c.role, 2), c.name_key)) for k, v in found.items()}


def contact_named(session: Session, client_id: int, name: str) -> Contact | None:
    stmt = select(Contact).where(Contact.client_id == client_id, Contact.name_key == name_key(name))
    return session.scalars(stmt).one_or_none()


def demote_primary(session: Session, client_id: int, role: str = "other") -> Contact | None:
    """The client's primary contact, made `role` (flushed first, so the one-primary index never sees two)."""
    current = session.scalars(select(Contact).where(Contact.client_id == client_id,
                                                    Contact.is_primary.is_(True))).first()
    if current is not None:
        current.role, current.is_primary = role, False
        session.flush()
    return current


def set_role(contact: Contact, role: str) -> None:
    contact.role = role
    contact.is_primary = role == PRIMARY


def contacts_for_slack_user(session: Session, workspace_id: int, client_id: int, slack_user_id: str) -> Contact | None:
    """The contact of this client tied to this Slack user, if any."""
    stmt = select(Contact).where(Contact.workspace_id == workspace_id, Contact.client_id == client_id,
                                 Contact.slack_user_id == slack_user_id).order_by(Contact.id)
    return session.scalars(stmt).first()


def last_touch_with(session: Session, client_id: int, contact_id: int, directions: Sequence[str],
                    before: datetime | None = None) -> datetime | None:
    """When the client last had a touch with this contact in one of these directions (before `before`)."""
    stmt = select(func.max(Interaction.occurred_at)).where(
        Interaction.client_id == client_id, Interaction.contact_id == contact_id,
        Interaction.direction.in_(list(directions)))
    if before is not None:
        stmt = stmt.where(Interaction.occurred_at < before)
    return session.scalar(stmt)


def touched_since(session: Session, client_id: int, contact_id: int, since: datetime) -> bool:
    """Whether any touch (a direction, not an internal note) with this contact happened at or after `since`."""
    stmt = select(Interaction.id).where(
        Interaction.client_id == client_id, Interaction.contact_id == contact_id,
        Interaction.direction.is_not(None), Interaction.occurred_at >= since).limit(1)
    return session.scalar(stmt) is not None


def left_on(session: Session, client_id: int, contact_id: int, channel_id: str, start: datetime,
            end: datetime) -> bool:
    """Whether this contact's leaving this channel was already recorded in [start, end): one sign a day."""
    stmt = select(Interaction.id).where(
        Interaction.client_id == client_id, Interaction.kind == "left", Interaction.contact_id == contact_id,
        Interaction.channel_id == channel_id, Interaction.occurred_at >= start, Interaction.occurred_at < end).limit(1)
    return session.scalar(stmt) is not None


def unlink_touches(session: Session, contact_id: int) -> None:
    """Before a contact is removed: its touches stay, with nobody named (what ON DELETE SET NULL does where the
    database enforces foreign keys; SQLite may not)."""
    session.execute(update(Interaction).where(Interaction.contact_id == contact_id).values(contact_id=None))


@dataclass(frozen=True)
class GivenHeadsUp:
    name: str
    by: str
    at: datetime


def last_heads_up(session: Session, client_id: int) -> GivenHeadsUp | None:
    """The latest heads-up logged with one of the client's contacts (*Gave a heads-up*), for a second click."""
    row = session.execute(select(Contact.name, Interaction.logged_by, Interaction.occurred_at)
                          .join(Contact, Contact.id == Interaction.contact_id)
                          .where(Interaction.client_id == client_id, Interaction.note.like("Heads-up%"))
                          .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(1)).first()
    return GivenHeadsUp(row[0], row[1], row[2]) if row else None
