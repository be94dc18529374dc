"""How many clients a workspace has, kept by the database (issue 24): `/client list`, `list mine`, `list all` and
`list former` show a total that used to be a count of every matching client, on every list (12-18 ms of
PostgreSQL at 100,000 clients once writes had dirtied the table's visibility map). Triggers on `clients` add a
+1/-1 row to `client_counts` whenever a client is added, removed, or changes owner or status (migration 0020
creates them), so no writer can forget; a total is the sum of a handful of rows once the sweep has folded them.

Rows are only ever inserted by writers: two people adding clients never wait on one counter row, and a CSV
import cannot deadlock with a handoff. A migration that rebuilds `clients` (SQLite's batch mode) drops its
triggers and must create them again (tests/test_counts.py checks every way a client changes, on the migrated
schema)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import bindparam, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from storage.models import Client, ClientCount


def kept_total(*, statuses: bool, owner: bool) -> ScalarSelect[int]:
    """How many of workspace :workspace_id's clients there are, of :statuses (if `statuses`) and owned by
    :owner_id (if `owner`): a scalar subquery with its values as parameters, so a page of clients and its total
    come back in one statement built once."""
    conditions = [ClientCount.workspace_id == bindparam("workspace_id")]
    if statuses:
        conditions.append(ClientCount.status.in_(bindparam("statuses", expanding=True)))
    if owner:
        conditions.append(ClientCount.owner_id == bindparam("owner_id"))
    return select(func.coalesce(func.sum(ClientCount.delta), 0)).where(*conditions).scalar_subquery()


def fold_client_counts(session: Session) -> int:
    """Each owner and status's rows, in every workspace, folded into one (none if they sum to 0); how many rows
    were folded. Rows are deleted with RETURNING and their sum written back in the same transaction: of two
    processes folding at once, each row is deleted, and so summed, by exactly one of them, and a row a writer
    adds meanwhile is left for the next fold."""
    crowded = (select(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status)
               .group_by(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status)
               .having(func.count() > 1))
    ids = select(ClientCount.id).where(
        tuple_(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status).in_(crowded))
    gone = session.execute(
        delete(ClientCount).where(ClientCount.id.in_(ids))
        .returning(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status, ClientCount.delta)
        .execution_options(synchronize_session=False)).all()
    sums: Counter[tuple[int, str, str]] = Counter()
    for workspace_id, owner_id, status, delta in gone:
        sums[(workspace_id, owner_id, status)] += delta
    rows = [{"workspace_id": w, "owner_id": o, "status": s, "delta": n} for (w, o, s), n in sorted(sums.items()) if n]
    if rows:
        session.execute(insert(ClientCount), rows)
    return len(gone)


def counted_by_hand(session: Session, workspace_id: int) -> dict[tuple[str, str], int]:
    """(owner, status) -> clients, counted from the clients themselves: what the kept rows must always sum to."""
    stmt = (select(Client.owner_id, Client.status, func.count()).where(Client.workspace_id == workspace_id)
            .group_by(Client.owner_id, Client.status))
    return {(owner, status): n for owner, status, n in session.execute(stmt)}


def kept_by_owner_and_status(session: Session, workspace_id: int) -> dict[tuple[str, str], int]:
    """(owner, status) -> clients, from the kept rows (zeros left out)."""
    stmt = (select(ClientCount.owner_id, ClientCount.status, func.sum(ClientCount.delta))
            .where(ClientCount.workspace_id == workspace_id)
            .group_by(ClientCount.owner_id, ClientCount.status))
    return {(owner, status): int(n) for owner, status, n in session.execute(stmt) if n}
