"""`/client list`'s totals are kept by the database (issue 24, storage/counts.py): whatever way clients are added,
removed, ended, brought back or handed over, in whatever order and interleaved with folds and with two
workspaces side by side, the kept rows sum to what counting the clients gives, and the totals people see are
those counts. On SQLite and PostgreSQL, through the same code paths the commands, buttons, CSV import and
workspace erasure use."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bot.bulk.csv_io import import_rows
from bot.commands import run_button, run_client_command
from bot.slack.caller import Caller
from bot.slack.people import Person, SlackUser
from storage.clients import list_clients
from storage.counts import fold_client_counts
from storage.db import normalize_url
from storage.erasure import erase_workspace
from storage.migrate import alembic_config, upgrade
from storage.models import Client, ClientCount, Workspace
from storage.workspaces import find_workspace, get_or_create_workspace

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
TEAMS = ("T1", "T2")
OWNERS = ("UANA", "UBEN", "UCAT")
NAMES = [f"Client {letter}" for letter in "ABCDEFGH"]
CURRENT = ("active", "prospect", "paused")


def _caller(team: str, user: str = "UANA") -> Caller:
    return Caller(team_id=team, enterprise_id=None, user_id=user,
                  person=lambda: Person(ZoneInfo("Europe/London"), True),  # an admin: may hand over and forget
                  someone=lambda _user: SlackUser(found=True))  # every new owner is one of the team


def _say(database, team: str, line: str) -> str:  # type: ignore[no-untyped-def]
    return run_client_command(database.sessions, _caller(team), line, NOW).text


def _forget(database, team: str, name: str) -> None:  # type: ignore[no-untyped-def]
    with database.sessions() as session:
        workspace = find_workspace(session, team, None)
        client_id = session.scalar(select(Client.id).where(Client.workspace_id == workspace.id,
                                                           Client.name == name)) if workspace else None
    if client_id is not None:
        run_button(database.sessions, _caller(team), "forget_confirm", str(client_id), NOW)


def _import(database, team: str, rows: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        workspace = get_or_create_workspace(session, team, None, NOW)
        import_rows(session, workspace, rows, default_owner="UANA", tz=ZoneInfo("UTC"), now=NOW)


def _erase(database, team: str) -> None:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        workspace = find_workspace(session, team, None)
        if workspace is not None:
            erase_workspace(session, workspace)


def _fold(database) -> None:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        fold_client_counts(session)


def counted_by_hand(session: Session, workspace_id: int) -> dict[tuple[str, str], int]:
    """(owner, status) -> clients, counted from the clients themselves: what the kept rows must sum to."""
    stmt = (select(Client.owner_id, Client.status, func.count()).where(Client.workspace_id == workspace_id)
            .group_by(Client.owner_id, Client.status))
    return {(owner, status): n for owner, status, n in session.execute(stmt)}


def kept_by_owner_and_status(session: Session, workspace_id: int) -> dict[tuple[str, str], int]:
    """(owner, status) -> clients, from the kept rows (zeros left out)."""
    stmt = (select(ClientCount.owner_id, ClientCount.status, func.sum(ClientCount.delta))
            .where(ClientCount.workspace_id == workspace_id)
            .group_by(ClientCount.owner_id, ClientCount.status))
    return {(owner, status): int(n) for owner, status, n in session.execute(stmt) if n}


def _assert_kept(database) -> None:  # type: ignore[no-untyped-def]
    with database.sessions() as session:
        workspaces = list(session.scalars(select(Workspace)))
        for workspace in workspaces:
            by_hand = counted_by_hand(session, workspace.id)
            assert kept_by_owner_and_status(session, workspace.id) == by_hand, workspace.team_id
            for statuses, owner in ((CURRENT, None), (CURRENT, "UANA"), (("former",), None), (None, None)):
                expected = sum(n for (o, s), n in by_hand.items()
                               if (statuses is None or s in statuses) and owner in (None, o))
                assert list_clients(session, workspace.id, statuses=statuses, owner_id=owner, limit=2)[1] == expected
        orphans = session.scalar(select(func.count()).select_from(ClientCount)
                                 .where(ClientCount.workspace_id.not_in([w.id for w in workspaces])))
        assert orphans == 0  # an erased workspace leaves no counts (owner ids) behind


team = st.sampled_from(TEAMS)
name = st.sampled_from(NAMES)
owner = st.sampled_from(OWNERS)
operation = st.one_of(
    st.tuples(st.just("add"), team, name, owner),
    st.tuples(st.just("end"), team, name),
    st.tuples(st.just("reactivate"), team, name),
    st.tuples(st.just("owner"), team, name, owner),
    st.tuples(st.just("handoff"), team, name, owner),
    st.tuples(st.just("forget"), team, name),
    st.tuples(st.just("import"), team, st.lists(st.tuples(name, st.sampled_from(["UANA", "UBEN", "not-a-user", ""]),
                                                          st.sampled_from(["", "active", "prospect", "former"])),
                                                max_size=4)),
    st.tuples(st.just("erase"), team),
    st.tuples(st.just("fold")),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=14))
def test_kept_totals_match_counting_the_clients_after_any_sequence_of_changes(database, operations):
    with database.sessions.begin() as session:  # hypothesis reuses the database between examples
        for workspace in list(session.scalars(select(Workspace))):
            erase_workspace(session, workspace)
    for op in operations:
        kind = op[0]
        if kind == "add":
            _say(database, op[1], f"add {op[2]} owner <@{op[3]}>")
        elif kind == "end":
            _say(database, op[1], f"end {op[2]}")
        elif kind == "reactivate":
            _say(database, op[1], f"reactivate {op[2]}")
        elif kind == "owner":
            _say(database, op[1], f"owner {op[2]} <@{op[3]}>")
        elif kind == "handoff":
            _say(database, op[1], f"handoff {op[2]} to <@{op[3]}>")
        elif kind == "forget":
            _forget(database, op[1], op[2])
        elif kind == "import":
            _import(database, op[1], [{"name": n, "owner": o, "status": s} for n, o, s in op[2]])
        elif kind == "erase":
            _erase(database, op[1])
        else:
            _fold(database)
        _assert_kept(database)
    _fold(database)
    _assert_kept(database)
    with database.sessions() as session:  # folded: one row per owner and status at most
        rows = session.execute(select(ClientCount.workspace_id, ClientCount.owner_id, ClientCount.status,
                                      func.count()).group_by(ClientCount.workspace_id, ClientCount.owner_id,
                                                             ClientCount.status)).all()
        assert all(n == 1 for *_, n in rows)


def test_the_list_shows_the_kept_total_and_a_rejected_row_counts_for_nothing(database):
    _import(database, "T1", [{"name": f"Acme {i}", "owner": "UBEN"} for i in range(30)]
            + [{"name": "Bad Owner", "owner": "not-a-user"}, {"name": "Acme 3", "owner": "UBEN"}])
    _say(database, "T1", "end Acme 7")
    reply = _say(database, "T1", "list")
    assert "Clients: 29" in reply
    assert "Former clients: 1" in _say(database, "T1", "list former")
    assert "All clients: 30" in _say(database, "T1", "list all")
    with database.sessions() as session:
        workspace = find_workspace(session, "T1", None)
        assert workspace is not None
        assert kept_by_owner_and_status(session, workspace.id) == {("UBEN", "active"): 29, ("UBEN", "former"): 1}
        assert session.scalar(select(func.count()).select_from(ClientCount)) == 3  # folded by the import, +2 for end


def test_two_processes_folding_while_people_add_clients_lose_and_double_nothing(database, database_url):
    """Folds race each other and the writers: each row is summed by exactly one fold, a row added meanwhile is
    left for the next (on SQLite they take turns on the write lock)."""
    _say(database, "T1", "add Seed Client")
    errors: list[BaseException] = []
    go = threading.Barrier(4)

    def adding(offset: int) -> None:
        try:
            go.wait()
            for i in range(15):
                _say(database, "T1", f"add Person {offset + i} owner <@{OWNERS[i % 3]}>")
        except BaseException as exc:
            errors.append(exc)

    def folding() -> None:
        try:
            go.wait()
            for _ in range(15):
                _fold(database)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=adding, args=(0,)), threading.Thread(target=adding, args=(100,)),
               threading.Thread(target=folding), threading.Thread(target=folding)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    _assert_kept(database)
    assert "Clients: 31" in _say(database, "T1", "list")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrating_counts_the_clients_already_there_and_stepping_back_removes_the_triggers(
        backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        schema = None
    else:
        base = request.getfixturevalue("postgres_url").split("?")[0]
        schema = f"counts_{tmp_path.name[-8:].lower().replace('-', '_')}"
        with create_engine(normalize_url(base)).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"
    upgrade(url, "0019")
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (team_id, enterprise_id, created_at) VALUES ('T1', '', :at)"),
                         {"at": NOW - timedelta(days=1)})
            for i, (who, status) in enumerate([("UANA", "active")] * 3 + [("UBEN", "former")] * 2):
                conn.execute(text("INSERT INTO clients (workspace_id, name, name_key, owner_id, status, created_at, "
                                  "created_by, opted_out, no_winback, unanswered_count, quiet_nudges, "
                                  "winback_nudges) VALUES (1, :n, :k, :o, :s, :at, 'UANA', false, false, 0, 0, 0)"),
                             {"n": f"Old {i}", "k": f"old {i}", "o": who, "s": status, "at": NOW})
        upgrade(url, "0020")
        with engine.begin() as conn:
            kept = dict(((o, s), n) for o, s, n in conn.execute(text(
                "SELECT owner_id, status, sum(delta) FROM client_counts GROUP BY owner_id, status")))
            assert kept == {("UANA", "active"): 3, ("UBEN", "former"): 2}
            conn.execute(text("UPDATE clients SET status = 'former' WHERE name = 'Old 0'"))
            conn.execute(text("DELETE FROM clients WHERE name = 'Old 4'"))
            kept = dict(((o, s), n) for o, s, n in conn.execute(text(
                "SELECT owner_id, status, sum(delta) FROM client_counts GROUP BY owner_id, status")))
            assert kept == {("UANA", "active"): 2, ("UANA", "former"): 1, ("UBEN", "former"): 1}
        command.downgrade(alembic_config(url), "0019")
        with engine.begin() as conn:  # no table, no trigger left to write into it
            conn.execute(text("DELETE FROM clients WHERE name = 'Old 3'"))
            assert conn.execute(text("SELECT count(*) FROM clients")).scalar_one() == 3
    finally:
        engine.dispose()
        if schema is not None:
            with create_engine(normalize_url(request.getfixturevalue("postgres_url"))).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_a_fold_does_not_wait_for_rows_another_transaction_holds(database, database_url):
    """An erasure (or another fold) not yet committed holds its workspace's rows: a sweep's fold skips them
    instead of waiting, so it can never be one side of a deadlock; the next fold sums what is left."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a fold and an erasure cannot overlap")
    for team in TEAMS:  # three rows each for one owner and status: a fold has them to fold
        for name in NAMES[:3]:
            _say(database, team, f"add {name}")
    with database.sessions.begin() as holding:
        workspace = find_workspace(holding, "T1", None)
        assert workspace is not None
        erase_workspace(holding, workspace)  # deletes T1's rows, uncommitted
        with database.sessions.begin() as folding:
            folding.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait would fail the fold, not hang it
            fold_client_counts(folding)
    _fold(database)
    _assert_kept(database)
    assert "Clients: 3" in _say(database, "T2", "list")
