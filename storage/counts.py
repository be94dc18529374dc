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

from storage.models import ClientCount


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


def fold_client_counts(session: Session, workspace_id: int | None = None) -> int:
    """Each owner and status's rows folded into one (none if they sum to 0), in one workspace or all; how many
    rows were folded. Rows are deleted with RETURNING and their sum written back in the same transaction: each
    row is deleted, and so summed, by exactly one fold, and a row a writer adds meanwhile is left for the next.
    On PostgreSQL a row another transaction holds (a fold, an import, an erasure not yet committed) is skipped,
    not waited for: a fold never waits on anyone, so it cannot take part in a deadlock."""
    keys = (ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status)
    crowded = select(*keys).group_by(*keys).having(func.count() > 1)
    if workspace_id is not None:
        crowded = crowded.where(ClientCount.workspace_id == workspace_id)
    ids = (select(ClientCount.id).where(tuple_(*keys).in_(crowded))
           .with_for_update(skip_locked=True))  # SQLite has one writer: nothing to skip, and no FOR UPDATE
    gone = session.execute(
        delete(ClientCount).where(ClientCount.id.in_(ids))
        .returning(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status, ClientCount.delta)
        .execution_options(synchronize_session=False)).all()
    sums: Counter[tuple[int, str, str]] = Counter()
    for workspace, owner_id, status, delta in gone:
        sums[(workspace, owner_id, status)] += delta
    rows = [{"workspace_id": w, "owner_id": o, "status": s, "delta": n} for (w, o, s), n in sorted(sums.items()) if n]
    if rows:
        session.execute(insert(ClientCount), rows)
    return len(gone)
