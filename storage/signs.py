"""Warning signs and our late replies, counted over a window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    Subquery,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from storage.models import (
    Client,
    Commitment,
    Goal,
    Interaction,
)


def our_late_signs(of: Callable[[Any], ColumnElement[bool]], since: Any) -> Subquery:
    """Our warning signs since `since`, one row each (client_id, kind, at): a promise or issue still open that went
    late then (PRODUCT.md §4.10), an open goal at risk since then (kind 'goal', §4.11). `of(model)` says whose:
    a client, a page of clients, a workspace. Every reader of them (a touch, the card, a list, at-risk) uses it."""
    commitments = (select(Commitment.client_id.label("client_id"), Commitment.kind.label("kind"),
                          Commitment.late_since.label("at"))
                   .where(of(Commitment), Commitment.done_at.is_(None), Commitment.late_since >= since))
    goals = (select(Goal.client_id, literal("goal", String), Goal.at_risk_since)
             .where(of(Goal), Goal.status == "open", Goal.at_risk_since >= since))
    return union_all(commitments, goals).subquery()


def _warning_signs() -> Subquery:
    """One row per warning sign since :since in workspace :workspace_id: their own (interactions of :kinds, read
    from the index alone) and ours (a commitment that went late then and is still open, PRODUCT.md §4.10; an open
    goal at risk since then, §4.11). Its values are parameters: the statements using it are built once."""
    workspace_id: BindParameter[int] = bindparam("workspace_id")
    since: BindParameter[datetime] = bindparam("since")
    theirs = (select(Interaction.client_id.label("client_id"))
              .where(Interaction.workspace_id == workspace_id, Interaction.kind.in_(bindparam("kinds", expanding=True)),
                     Interaction.occurred_at >= since))
    ours = our_late_signs(lambda model: model.workspace_id == workspace_id, since)
    return union_all(theirs, select(ours.c.client_id)).subquery()


def _signs_params(workspace_id: int, kinds: Sequence[str], since: datetime, at_least: int) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "kinds": list(kinds), "since": since, "at_least": at_least}


@cache
def _clients_with_warning_signs_statement() -> Any:
    signs = _warning_signs()
    return (select(signs.c.client_id, func.count()).group_by(signs.c.client_id)
            .having(func.count() >= bindparam("at_least")))


def clients_with_warning_signs(
    session: Session, workspace_id: int, kinds: Sequence[str], since: datetime, at_least: int
) -> dict[int, int]:
    """Clients with at least `at_least` warning signs since `since` (theirs and ours), and how many each."""
    params = _signs_params(workspace_id, kinds, since, at_least)
    return {client_id: count for client_id, count in session.execute(_clients_with_warning_signs_statement(),
                                                                       params)}


@cache
def _at_risk_statement() -> Any:
    signs = _warning_signs()
    risky = (select(signs.c.client_id, func.count().label("signs")).group_by(signs.c.client_id)
             .having(func.count() >= bindparam("at_least")).subquery())
    order = (Client.last_their_contact_at.asc().nulls_first(), Client.name_key)
    # the page is chosen from the sort keys alone, then its clients read whole: sorting thousands of whole rows
    # costs twice as much
    page = (select(Client.id, risky.c.signs, func.count().over().label("total"))
            .join(risky, risky.c.client_id == Client.id)
            .where(Client.workspace_id == bindparam("workspace_id"),
                   Client.status.in_(bindparam("statuses", expanding=True)))
            .order_by(*order).limit(bindparam("limit")).subquery())
    return select(Client, page.c.signs, page.c.total).join(page, page.c.id == Client.id).order_by(*order)


def at_risk_clients(session: Session, workspace_id: int, statuses: Sequence[str], kinds: Sequence[str],
                    since: datetime, at_least: int, limit: int) -> tuple[list[Client], int, dict[int, int]]:
    """Clients with at least `at_least` warning signs since `since` (theirs and ours) in the list's order (longest
    silent first), how many there are, and each one's signs: one statement, the set never leaving the database."""
    params = {**_signs_params(workspace_id, kinds, since, at_least), "statuses": list(statuses), "limit": limit}
    rows = session.execute(_at_risk_statement(), params).all()
    return [r[0] for r in rows], (rows[0].total if rows else 0), {r[0].id: r.signs for r in rows}


def warning_signs_of(session: Session, client_ids: Sequence[int], kinds: Sequence[str], since: datetime
                     ) -> dict[int, list[tuple[str, datetime]]]:
    """(kind, when) of each of these clients' warning signs since a moment, oldest first, in one query."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    if client_ids:
        stmt = (select(Interaction.client_id, Interaction.kind, Interaction.occurred_at)
                .where(Interaction.client_id.in_(list(client_ids)), Interaction.kind.in_(list(kinds)),
                       Interaction.occurred_at >= since)
                .order_by(Interaction.client_id, Interaction.occurred_at, Interaction.id))
        for client_id, kind, at in session.execute(stmt):
            found.setdefault(client_id, []).append((kind, at))
    return found


def warning_signs(session: Session, client_id: int, kinds: Sequence[str], since: datetime) -> list[Interaction]:
    stmt = (
        select(Interaction)
        .where(Interaction.client_id == client_id, Interaction.kind.in_(list(kinds)), Interaction.occurred_at >= since)
        .order_by(Interaction.occurred_at)
    )
    return list(session.scalars(stmt))
