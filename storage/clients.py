"""Clients: finding them by name, the lists and their pages, the quiet ones, where their cards go, and the lock a
request takes on one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from storage.counts import kept_total
from storage.models import (
    Client,
)

_CLIENTS_BY_KEYS = select(Client).where(Client.workspace_id == bindparam("workspace_id"),
                                        Client.name_key.in_(bindparam("keys", expanding=True)))


def clients_by_keys(session: Session, workspace_id: int, keys: Sequence[str]) -> list[Client]:
    if not keys:
        return []
    return list(session.scalars(_CLIENTS_BY_KEYS, {"workspace_id": workspace_id, "keys": list(keys)}))


def clients_with_key_prefix(session: Session, workspace_id: int, prefix: str, limit: int) -> list[Client]:
    # A range on the unique (workspace_id, name_key) index, not LIKE, so '%' and '_' in names are literal.
    upper = prefix + "\U0010ffff"
    stmt = (
        select(Client)
        .where(Client.workspace_id == workspace_id, Client.name_key >= prefix, Client.name_key < upper)
        .order_by(Client.name_key)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def client_keys_for_suggestions(session: Session, workspace_id: int, first_char: str, limit: int) -> list[str]:
    """The name keys a misspelling could be meant for: all of a small workspace's, else those sharing a first
    letter (the first `limit` of them). Only keys, read from the (workspace, name key) index alone and joined into
    one string by the database (keys never hold a line break): thousands of rows cost more to hand over one by one
    than to find. The workspace's size is its kept total, not a count of its clients."""
    total = session.scalar(select(kept_total(statuses=False, owner=False)), {"workspace_id": workspace_id})
    stmt = select(Client.name_key).where(Client.workspace_id == workspace_id)
    if (total or 0) > limit and first_char:
        stmt = stmt.where(Client.name_key >= first_char, Client.name_key < first_char + "\U0010ffff")
    keys = stmt.order_by(Client.name_key).limit(limit).subquery()
    joined = session.scalar(select(func.aggregate_strings(keys.c.name_key, "\n")))
    return joined.split("\n") if joined else []


def get_client(session: Session, workspace_id: int, client_id: int) -> Client | None:
    stmt = select(Client).where(Client.workspace_id == workspace_id, Client.id == client_id)
    return session.scalars(stmt).one_or_none()


def list_clients(session: Session, workspace_id: int, *, statuses: Sequence[str] | None = None,
                 owner_id: str | None = None, limit: int) -> tuple[list[Client], int]:
    """Clients of `statuses` (any, if None) and, if given, this owner, longest-silent first, and how many match in
    all (kept by the database: storage/counts.py)."""
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit, "statuses": list(statuses or ()),
                              "owner_id": owner_id}
    return _page(session, _list_statement(statuses is not None, owner_id is not None), params)


@cache
def _list_statement(statuses: bool, owner: bool) -> Any:
    """list_clients's statement for one combination of filters, built once; the values are parameters."""
    conditions = [Client.workspace_id == bindparam("workspace_id")]
    if statuses:
        conditions.append(Client.status.in_(bindparam("statuses", expanding=True)))
    if owner:
        conditions.append(Client.owner_id == bindparam("owner_id"))
    return longest_silent_first(conditions, kept_total(statuses=statuses, owner=owner))


def longest_silent_first(conditions: Sequence[ColumnElement[bool]], total: ScalarSelect[int]) -> Any:
    """The first :limit clients matching `conditions` (which name one workspace), never heard from first (by
    name), then by when we last heard from them, and `total` (how many match in all). Two walks of
    ix_clients_workspace_their_contact that stop at the limit, not a sort of every match (one walk cannot do it
    on both databases: PostgreSQL's index keeps NULLs last, and `NULLS FIRST` would sort), and the total, all in
    one statement: each round trip costs an answer more than these index walks do."""
    limit: BindParameter[int] = bindparam("limit")
    never = (select(Client.id, literal(0, Integer).label("part"))
             .where(*conditions, Client.last_their_contact_at.is_(None)).order_by(Client.name_key).limit(limit))
    heard = (select(Client.id, literal(1, Integer).label("part"))
             .where(*conditions, Client.last_their_contact_at.is_not(None))
             .order_by(Client.last_their_contact_at, Client.name_key).limit(limit))
    page = union_all(select(never.subquery()), select(heard.subquery())).subquery()
    return (select(Client, total.label("total")).join(page, page.c.id == Client.id)
            .order_by(page.c.part, Client.last_their_contact_at, Client.name_key).limit(limit))


def _page(session: Session, stmt: Any, params: dict[str, Any]) -> tuple[list[Client], int]:
    rows = session.execute(stmt, params).all()
    return [row[0] for row in rows], (rows[0].total if rows else 0)  # an empty page: nothing matches


def all_clients(session: Session, workspace_id: int) -> list[Client]:
    return list(session.scalars(select(Client).where(Client.workspace_id == workspace_id).order_by(Client.name_key)))


def quiet_clients(session: Session, workspace_id: int, now: datetime, limit: int) -> tuple[list[Client], int]:
    """Silent past their threshold: already nudged this spell, or due to be."""
    return _page(session, _quiet_statement(), {"workspace_id": workspace_id, "now": now, "limit": limit})


@cache
def _quiet_statement() -> Any:
    current = [Client.workspace_id == bindparam("workspace_id"), Client.status.in_(("active", "prospect"))]
    nudged, due = Client.quiet_nudges > 0, Client.next_quiet_at < bindparam("now")
    # Counted as two ranges of ix_clients_workspace_quiet (nudged; not nudged and due), each read from the index
    # alone, instead of testing every current client's row for the OR. quiet_nudges counts up from 0, and `== 0`
    # (not `<= 0`) keeps SQLite's planner, which has no statistics, on that index rather than next_quiet_at's.
    total = select(
        select(func.count()).select_from(Client).where(*current, nudged).scalar_subquery()
        + select(func.count()).select_from(Client).where(*current, Client.quiet_nudges == 0, due).scalar_subquery()
    ).scalar_subquery()
    return longest_silent_first([*current, or_(nudged, due)], total)


def owned_current_clients(session: Session, workspace_id: int, owner_id: str) -> list[Client]:
    stmt = select(Client).where(Client.workspace_id == workspace_id, Client.owner_id == owner_id,
                                Client.status.in_(("active", "prospect", "paused")))
    return list(session.scalars(stmt))


def clients_page(session: Session, workspace_id: int, after_id: int, limit: int) -> list[Client]:
    """The next `limit` clients of a workspace after `after_id`, by id: for working through all of them in chunks."""
    stmt = (select(Client).where(Client.workspace_id == workspace_id, Client.id > after_id)
            .order_by(Client.id).limit(limit))
    return list(session.scalars(stmt))


def client_names(session: Session, client_ids: Sequence[int] | set[int]) -> dict[int, str]:
    ids = list(client_ids)
    return dict(session.execute(select(Client.id, Client.name).where(Client.id.in_(ids))).all()) if ids else {}


def routes_of(session: Session, client_ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    """(channel, owner) of each of these clients: where its nudges go."""
    found: dict[int, tuple[str | None, str]] = {}
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        stmt = select(Client.id, Client.channel_id, Client.owner_id).where(Client.id.in_(ids[start:start + 500]))
        found.update({client_id: (channel, owner) for client_id, channel, owner in session.execute(stmt)})
    return found


def route_targets(session: Session, workspace_id: int) -> tuple[set[str], set[str]]:
    """The distinct client channels, and the owners of clients without one: where nudges can go."""
    channels = set(session.scalars(select(Client.channel_id).distinct().where(
        Client.workspace_id == workspace_id, Client.channel_id.is_not(None))))
    owners = set(session.scalars(select(Client.owner_id).distinct().where(
        Client.workspace_id == workspace_id, Client.channel_id.is_(None))))
    return {c for c in channels if c}, owners


def lock_client(session: Session, workspace_id: int, client_id: int) -> Client | None:
    """The client read afresh, its row locked until the transaction ends. Whatever a click changes belongs to
    one client, so every click takes this one lock before it reads what it acts on: of two clicks at once the
    second waits, then sees what the first did (PostgreSQL FOR UPDATE; SQLite's write transaction began with
    BEGIN IMMEDIATE, which already lets one writer in at a time)."""
    stmt = (select(Client).where(Client.workspace_id == workspace_id, Client.id == client_id)
            .with_for_update().execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()
