"""Queries for capture from email and calendars (PRODUCT.md §4.15): a workspace's inbound key, the domains and
addresses mail is matched by, meetings from invitations, the touches they make, and the daily counts of what was
captured and skipped. Each takes the caller's session; nothing here holds a subject, a body or an address that
matched nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Client,
    ClientDomain,
    Contact,
    Interaction,
    MailDay,
    MailgunToken,
    MailKey,
    MailMeeting,
    OurDomain,
    Workspace,
)

MAIL = "mail"  # Interaction.source of a touch captured from email or a calendar
MAILER = "rapport-mail"  # Interaction.logged_by: nobody typed it
# Everything capture keeps for a workspace, children first: erasing a workspace removes it all.
WORKSPACE_MODELS = (MailgunToken, MailDay, MailMeeting, OurDomain, ClientDomain, MailKey)


def _insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the dialect's own form (both have it)."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


# --- the inbound key ---------------------------------------------------------------------------------------------

def key_of(session: Session, workspace_id: int) -> MailKey | None:
    return session.get(MailKey, workspace_id)


def set_key(session: Session, workspace_id: int, key: str, by: str, now: datetime) -> MailKey:
    """The workspace's key from now on; the old one, if any, finds nothing any more."""
    found = session.get(MailKey, workspace_id)
    if found is None:
        found = MailKey(workspace_id=workspace_id, key=key, created_at=now, created_by=by)
        session.add(found)
    else:
        found.key, found.created_at, found.created_by = key, now, by
    session.flush()
    return found


def workspace_for_key(session: Session, key: str) -> Workspace | None:
    stmt = select(Workspace).join(MailKey, MailKey.workspace_id == Workspace.id).where(MailKey.key == key)
    return session.scalars(stmt).one_or_none()


# --- who is who: contacts' addresses, client domains, our own domains ---------------------------------------------

@dataclass(frozen=True)
class Known:
    contacts: list[tuple[str, int, int, bool]]  # (address, client, contact, is the primary)
    domains: dict[str, int]  # client domain -> client
    ours: list[str]


def who_is(session: Session, workspace_id: int, emails: Iterable[str], domains: Iterable[str]) -> Known:
    """What the workspace knows of these addresses and domains, and its own domains: one round trip (every
    delivered message asks)."""
    wanted_emails, wanted_domains = sorted(set(emails)) or [""], sorted(set(domains)) or [""]
    parts: Any = union_all(
        select(literal("contact").label("tag"), Contact.email.label("name"), Contact.client_id.label("client"),
               Contact.id.label("contact"), Contact.is_primary.label("primary"))
        .where(Contact.workspace_id == workspace_id, Contact.email.in_(wanted_emails)),
        select(literal("domain"), ClientDomain.domain, ClientDomain.client_id, literal(0), literal(False))
        .where(ClientDomain.workspace_id == workspace_id, ClientDomain.domain.in_(wanted_domains)),
        select(literal("ours"), OurDomain.domain, literal(0), literal(0), literal(False))
        .where(OurDomain.workspace_id == workspace_id))
    found = Known([], {}, [])
    for tag, name, client, contact, primary in session.execute(parts):
        if tag == "contact" and name:
            found.contacts.append((name, int(client), int(contact), bool(primary)))
        elif tag == "domain":
            found.domains[name] = int(client)
        elif tag == "ours":
            found.ours.append(name)
    return found


def all_contact_emails(session: Session, workspace_id: int) -> list[Contact]:
    stmt = (select(Contact).where(Contact.workspace_id == workspace_id, Contact.email.is_not(None))
            .order_by(Contact.client_id, Contact.id))
    return list(session.scalars(stmt))


def contact_with_email(session: Session, client_id: int, email: str) -> Contact | None:
    stmt = select(Contact).where(Contact.client_id == client_id, Contact.email == email)
    return session.scalars(stmt).one_or_none()


def domain_clients(session: Session, workspace_id: int, domains: Iterable[str] | None = None) -> dict[str, int]:
    """Which client each of these domains (every domain, with None) belongs to."""
    stmt = select(ClientDomain.domain, ClientDomain.client_id).where(ClientDomain.workspace_id == workspace_id)
    if domains is not None:
        wanted = sorted(set(domains))
        if not wanted:
            return {}
        stmt = stmt.where(ClientDomain.domain.in_(wanted))
    return {domain: client_id for domain, client_id in session.execute(stmt)}


def domains_of(session: Session, client_id: int) -> list[str]:
    stmt = select(ClientDomain.domain).where(ClientDomain.client_id == client_id).order_by(ClientDomain.domain)
    return list(session.scalars(stmt))


def domains_of_clients(session: Session, client_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each client's domains in one query (CSV export)."""
    found: dict[int, list[str]] = {}
    if client_ids:
        stmt = (select(ClientDomain.client_id, ClientDomain.domain)
                .where(ClientDomain.client_id.in_(list(client_ids))).order_by(ClientDomain.domain))
        for client_id, domain in session.execute(stmt):
            found.setdefault(client_id, []).append(domain)
    return found


def client_domain(session: Session, workspace_id: int, domain: str) -> ClientDomain | None:
    stmt = select(ClientDomain).where(ClientDomain.workspace_id == workspace_id, ClientDomain.domain == domain)
    return session.scalars(stmt).one_or_none()


def add_client_domain(session: Session, workspace_id: int, client_id: int, domain: str, by: str,
                      now: datetime) -> ClientDomain:
    row = ClientDomain(workspace_id=workspace_id, client_id=client_id, domain=domain, created_at=now, created_by=by)
    session.add(row)
    session.flush()
    return row


def our_domains(session: Session, workspace_id: int) -> list[str]:
    stmt = select(OurDomain.domain).where(OurDomain.workspace_id == workspace_id).order_by(OurDomain.domain)
    return list(session.scalars(stmt))


def set_our_domains(session: Session, workspace_id: int, domains: Sequence[str], by: str, now: datetime) -> None:
    """The workspace's own domains are exactly these from now on."""
    session.execute(delete(OurDomain).where(OurDomain.workspace_id == workspace_id))
    session.add_all(OurDomain(workspace_id=workspace_id, domain=d, created_at=now, created_by=by)
                    for d in sorted(set(domains)))
    session.flush()


def clients_by_ids(session: Session, client_ids: Iterable[int]) -> list[Client]:
    ids = sorted(client_ids)
    found: list[Client] = []
    for start in range(0, len(ids), 500):
        found += session.scalars(select(Client).where(Client.id.in_(ids[start:start + 500])))
    return found


# --- touches ---------------------------------------------------------------------------------------------------

def recorded_clients(session: Session, workspace_id: int, digests: Sequence[str]) -> set[tuple[int, str]]:
    """(client, digest) pairs among these digests that are touches already: a message arriving again is not
    recorded again for a client it was recorded for."""
    found: set[tuple[int, str]] = set()
    for start in range(0, len(digests), 500):
        stmt = select(Interaction.client_id, Interaction.mail_digest).where(
            Interaction.workspace_id == workspace_id, Interaction.mail_digest.in_(list(digests[start:start + 500])))
        found.update((client_id, digest) for client_id, digest in session.execute(stmt) if digest)
    return found


def insert_mail_touch(session: Session, values: Mapping[str, object]) -> bool:
    """A captured touch, unless its client has one with its digest already (this transaction's or a concurrent
    one's): one statement, no savepoint."""
    table = Interaction.__table__
    assert isinstance(table, Table)
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing(
        index_elements=["workspace_id", "client_id", "mail_digest"],
        index_where=table.c.mail_digest.is_not(None)).returning(table.c.id)
    return session.execute(stmt).scalar() is not None


def mail_touch(session: Session, client_id: int, digest: str) -> Interaction | None:
    stmt = select(Interaction).where(Interaction.client_id == client_id, Interaction.mail_digest == digest)
    return session.scalars(stmt).one_or_none()


def last_emails(session: Session, client_id: int) -> tuple[datetime | None, datetime | None]:
    """When the client's last email from them and last email from us were, captured or logged (a two-way one
    counts for both)."""
    at, direction = Interaction.occurred_at, Interaction.direction
    mine = (Interaction.client_id == client_id, Interaction.kind == "email")
    theirs = select(func.max(at)).where(*mine, direction.in_(("in", "both"))).scalar_subquery()
    ours = select(func.max(at)).where(*mine, direction.in_(("out", "both"))).scalar_subquery()
    row = session.execute(select(theirs, ours)).one()
    return row[0], row[1]


# --- meetings --------------------------------------------------------------------------------------------------

def meetings_with_uid(session: Session, workspace_id: int, uid_digest: str) -> list[MailMeeting]:
    stmt = (select(MailMeeting).where(MailMeeting.workspace_id == workspace_id, MailMeeting.uid_digest == uid_digest)
            .order_by(MailMeeting.client_id, MailMeeting.recurrence))
    return list(session.scalars(stmt))


def due_meetings(session: Session, now: datetime, limit: int, after_id: int = 0) -> list[MailMeeting]:
    """Meetings with an occurrence that has started and is not a touch yet, any workspace, in id order."""
    stmt = (select(MailMeeting).where(MailMeeting.next_touch_at <= now, MailMeeting.id > after_id)
            .order_by(MailMeeting.id).limit(limit))
    return list(session.scalars(stmt))


def upcoming_meetings(session: Session, client_id: int) -> list[MailMeeting]:
    """A client's meetings still to come (or still to be written as touches), soonest first."""
    stmt = (select(MailMeeting).where(MailMeeting.client_id == client_id, MailMeeting.next_touch_at.is_not(None))
            .order_by(MailMeeting.next_touch_at))
    return list(session.scalars(stmt))


def skipped_of(meeting: MailMeeting) -> list[str]:
    found = json.loads(meeting.skipped or "[]")
    return [str(x) for x in found] if isinstance(found, list) else []


def set_skipped(meeting: MailMeeting, instants: Iterable[str]) -> None:
    meeting.skipped = json.dumps(sorted(set(instants)))


# --- what was captured and skipped, by day ------------------------------------------------------------------------

def add_counts(session: Session, workspace_id: int, day: str, counts: Mapping[str, int]) -> None:
    """Adds to the day's counts, in key order (two writers lock the rows they share in the same order)."""
    rows = [{"workspace_id": workspace_id, "day": day, "outcome": outcome[:32], "count": n}
            for outcome, n in sorted(counts.items()) if n]
    if not rows:
        return
    table = MailDay.__table__
    assert isinstance(table, Table)
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=["workspace_id", "day", "outcome"],
                                      set_={"count": table.c.count + stmt.excluded.count})
    for row in rows:  # one row a statement: a multi-row upsert touching one key twice is an error on PostgreSQL
        session.execute(stmt, row)


def counts_since(session: Session, workspace_id: int, first_day: str) -> Counter[str]:
    stmt = (select(MailDay.outcome, func.sum(MailDay.count))
            .where(MailDay.workspace_id == workspace_id, MailDay.day >= first_day).group_by(MailDay.outcome))
    return Counter({outcome: int(total or 0) for outcome, total in session.execute(stmt)})


# --- Mailgun's replayed tokens ----------------------------------------------------------------------------------

def first_use_of_token(session: Session, workspace_id: int, token: str, now: datetime, forget_before: datetime
                       ) -> bool:
    """Whether this signed token is new (and now remembered); False for a replay. Tokens old enough that their
    timestamp would be refused anyway are forgotten here too."""
    session.execute(delete(MailgunToken).where(MailgunToken.seen_at < forget_before))
    table = MailgunToken.__table__
    assert isinstance(table, Table)
    stmt = _insert(session, table).values(token=token, workspace_id=workspace_id, seen_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["token"]).returning(table.c.token)
    return session.execute(stmt).scalar() is not None


# --- erasure ---------------------------------------------------------------------------------------------------

def forget_client_mail(session: Session, client_id: int) -> None:
    """What capture keeps of one client besides its touches and contacts (which the caller deletes)."""
    session.execute(delete(MailMeeting).where(MailMeeting.client_id == client_id))
    session.execute(delete(ClientDomain).where(ClientDomain.client_id == client_id))
