"""Queries for a client's people (PRODUCT.md §4.13): contacts with roles, the Slack user each may be tied to, and
the touches had with each. Each takes the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from storage.models import (
    Contact,
    Interaction,
)
from storage.names import name_key
from storage.signs import our_late_signs

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


_CONTACTS_OF = select(Contact).where(Contact.client_id == bindparam("client_id")).order_by(Contact.id)


def primary_contact(session: Session, client_id: int) -> Contact | None:
    stmt = select(Contact).where(Contact.client_id == client_id, Contact.is_primary.is_(True))
    return session.scalars(stmt).first()


@dataclass(frozen=True)
class ContactFacts:
    last_contact_at: datetime | None
    last_contact_direction: str | None
    last_their_contact_at: datetime | None
    last_checkin_at: datetime | None
    unanswered: list[datetime]  # our touches since they last replied, oldest first
    their_contacts_since: list[datetime]
    warning_signs_since: list[datetime]
    last_primary_contact_at: datetime | None
    late_since: list[datetime]  # our warning signs since `warnings_since`: open promises late, open goals at risk
    first_at: datetime | None = None  # the earliest entry recorded, whenever it was recorded (a backdated touch)


@cache
def _contact_facts_statement(with_primary: bool) -> Any:
    """contact_facts's statement, built once with its values as parameters: building a union of eight or nine
    parts anew for every touch cost more Python than running it."""
    mine = Interaction.client_id == bindparam("client_id")
    at, direction, kind = Interaction.occurred_at, Interaction.direction, Interaction.kind
    theirs = direction.in_(("in", "both"))
    last_their = select(func.max(at)).where(mine, theirs).scalar_subquery()

    def part(tag: str, stmt: Any) -> Any:  # one of the parts below, each with its own column types
        rows = stmt.subquery()
        return select(literal(tag).label("tag"), rows.c.at, rows.c.direction)

    nothing = null().label("direction")
    late = our_late_signs(lambda model: model.client_id == bindparam("client_id"), bindparam("warnings_since"))
    parts = [
        part("last", select(at.label("at"), direction.label("direction")).where(mine, direction.is_not(None))
             .order_by(at.desc(), Interaction.id.desc()).limit(1)),
        part("first", select(func.min(at).label("at"), nothing).where(mine)),
        part("their", select(func.max(at).label("at"), nothing).where(mine, theirs)),
        part("checkin", select(func.max(at).label("at"), nothing).where(mine, kind == "checkin")),
        # our touches since they last replied (all of them if they never have)
        part("out", select(at.label("at"), nothing).where(mine, direction == "out",
                                                          or_(last_their.is_(None), at > last_their))),
        part("contact", select(at.label("at"), nothing).where(mine, theirs, at >= bindparam("contacts_since"))),
        part("warning", select(at.label("at"), nothing).where(
            mine, kind.in_(bindparam("warning_kinds", expanding=True)), at >= bindparam("warnings_since"))),
        # ours, in the same round trip (storage.commitments.late_signs_of reads the same rows)
        part("late", select(late.c.at, nothing)),
    ]
    if with_primary:
        parts.append(part("primary", select(func.max(at).label("at"), nothing)
                          .where(mine, theirs, Interaction.contact_id == bindparam("primary_contact_id"))))
    return union_all(*parts)


def contact_facts(
    session: Session, client_id: int, *, contacts_since: datetime, warnings_since: datetime,
    warning_kinds: Sequence[str], primary_contact_id: int | None,
) -> ContactFacts:
    """What one client's history says, for the schedule, and our late promises and goals at risk. One statement
    (a touch is recorded on every answer that logs one): each of its parts is a range scan of that client's rows
    (interactions on (client_id, occurred_at), its commitments and goals by client), so the cost is one client's
    history, never the workspace's."""
    session.flush()
    params: dict[str, Any] = {"client_id": client_id, "contacts_since": contacts_since,
                              "warnings_since": warnings_since, "warning_kinds": list(warning_kinds)}
    if primary_contact_id is not None:
        params["primary_contact_id"] = primary_contact_id
    found: dict[str, list[tuple[datetime | None, str | None]]] = {}
    for row in session.execute(_contact_facts_statement(primary_contact_id is not None), params):
        found.setdefault(row.tag, []).append((row.at, row.direction))
    last = found.get("last", [(None, None)])[0]

    def one(tag: str) -> datetime | None:
        return found.get(tag, [(None, None)])[0][0]

    def every(tag: str) -> list[datetime]:
        return sorted(when for when, _ in found.get(tag, []) if when is not None)

    return ContactFacts(
        last_contact_at=last[0],
        last_contact_direction=last[1],
        last_their_contact_at=one("their"),
        last_checkin_at=one("checkin"),
        unanswered=every("out"),
        their_contacts_since=every("contact"),
        warning_signs_since=every("warning"),
        last_primary_contact_at=one("primary"),
        late_since=every("late"),
        first_at=one("first"),
    )


def contacts_of(session: Session, client_id: int) -> list[Contact]:
    return list(session.scalars(_CONTACTS_OF, {"client_id": client_id}))


def primary_contacts(session: Session, client_ids: Sequence[int]) -> dict[int, Contact]:
    """Each of these clients' primary contact, in one query."""
    found: dict[int, Contact] = {}
    if client_ids:
        stmt = select(Contact).where(Contact.client_id.in_(list(client_ids)), Contact.is_primary.is_(True)) \
            .order_by(Contact.id)
        for contact in session.scalars(stmt):
            found.setdefault(contact.client_id, contact)
    return found
