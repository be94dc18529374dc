"""Storage on SQLite and PostgreSQL: UTC round trips, constraints, erasure, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import make_engine, normalize_url
from storage.erasure import delete_client
from storage.migrate import (
    MIGRATIONS,
    alembic_config,
    current_revision,
    head_revision,
    is_current,
    is_ours,
    upgrade,
)
from storage.models import Base, Card, Client, Contact, Goal, GoalCheck, Interaction, Nudge, Referral, ReviewMonth
from storage.names import name_key
from storage.workspaces import get_or_create_workspace

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def _client(workspace_id: int, name: str) -> Client:
    return Client(workspace_id=workspace_id, name=name, name_key=name_key(name), owner_id="U1", status="active",
                  created_at=NOW, created_by="U1", opted_out=False, no_winback=False, unanswered_count=0)


def test_datetimes_come_back_aware_utc(database):
    eastern = timezone(timedelta(hours=-5))
    with database.sessions.begin() as session:
        workspace = get_or_create_workspace(session, "T1", None, NOW)
        client = _client(workspace.id, "Acme")
        session.add(client)
        session.flush()
        session.add(Interaction(workspace_id=workspace.id, client_id=client.id, kind="call", direction="both",
                                occurred_at=datetime(2026, 11, 16, 10, 0, tzinfo=eastern), logged_by="U1",
                                created_at=NOW))
    with database.sessions() as session:
        stored = session.scalars(select(Interaction)).one().occurred_at
    assert stored == datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(database):
    with pytest.raises(StatementError, match="naive datetime"), database.sessions.begin() as session:
        get_or_create_workspace(session, "T1", None, datetime(2026, 11, 16))


def test_client_names_are_unique_per_workspace_only(database):
    with database.sessions.begin() as session:
        one = get_or_create_workspace(session, "T1", None, NOW)
        two = get_or_create_workspace(session, "T2", "E1", NOW)
        session.add_all([_client(one.id, "Acme"), _client(two.id, "Acme")])
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.add(_client(one.id, "ACME"))


def test_forget_erases_all_history(database):
    with database.sessions.begin() as session:
        workspace = get_or_create_workspace(session, "T1", None, NOW)
        acme, beta = _client(workspace.id, "Acme"), _client(workspace.id, "Beta")
        session.add_all([acme, beta])
        session.flush()
        session.add(Interaction(workspace_id=workspace.id, client_id=acme.id, kind="call", direction="both",
                                occurred_at=NOW, logged_by="U1", created_at=NOW))
        session.add(Referral(workspace_id=workspace.id, referrer_id=beta.id, referred_id=acme.id, logged_by="U1",
                             created_at=NOW))
        card = Card(workspace_id=workspace.id, client_id=acme.id, owner_id="U1", day="2026-11-16", created_at=NOW,
                    score=1.0, why="chosen today: gone quiet")
        session.add(card)
        session.flush()
        session.add(Nudge(workspace_id=workspace.id, client_id=acme.id, kind="quiet", dedup_key="quiet:1",
                          due_at=NOW, facts="{}", created_at=NOW, card_id=card.id))
        goal = Goal(workspace_id=workspace.id, client_id=acme.id, owner_id="U1", what="renew", due_on=NOW.date(),
                    created_at=NOW, created_by="U1")
        session.add_all([goal, Contact(workspace_id=workspace.id, client_id=acme.id, name="Jane", name_key="jane",
                                       role="primary", is_primary=True, created_at=NOW),
                         ReviewMonth(workspace_id=workspace.id, client_id=acme.id, month="2026-10", frozen_at=NOW,
                                     version=1, figures="{}")])
        session.flush()
        session.add(GoalCheck(workspace_id=workspace.id, goal_id=goal.id, confidence=7, at=NOW, by="U1"))
    with database.sessions.begin() as session:
        delete_client(session, session.get(Client, acme.id))
    with database.sessions() as session:
        assert session.scalars(select(Card)).all() == [] and session.scalars(select(Nudge)).all() == []
        assert session.scalars(select(Interaction)).all() == []
        assert session.scalars(select(Referral)).all() == []
        assert [c.name for c in session.scalars(select(Client))] == ["Beta"]
        for model in (Goal, GoalCheck, Contact, ReviewMonth):  # goals, people and frozen reviews go with it
            assert session.scalars(select(model)).all() == [], model.__name__


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    base = request.getfixturevalue("postgres_url")
    schema = "rapport_mig_" + tmp_path.name[-8:].replace("-", "_").lower()
    admin = create_engine(normalize_url(base.split("?")[0]))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
    request.addfinalizer(lambda: _drop(admin, schema))
    return f"{base.split('?')[0]}?options=-csearch_path%3D{schema}"


def _drop(admin, schema):
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()



def newest_migration() -> str:
    """The revision of the highest-numbered file: a new migration that forgets to chain onto it makes two heads."""
    return max(path.name for path in (MIGRATIONS / "versions").glob("[0-9]*.py")).split("_", 1)[0]


def test_migrations_build_exactly_the_models_schema(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert not is_current(engine)
        upgrade(empty_database_url)
        assert is_current(engine) and current_revision(engine) == head_revision() == newest_migration()
        upgrade(empty_database_url)  # running it again is harmless
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"include_object": is_ours}),
                                           Base.metadata)
            tables = set(inspect(conn).get_table_names())
        assert differences == []
        assert {"workspaces", "clients", "contacts", "interactions", "referrals", "audit_events",
                "slack_bots", "slack_installations", "slack_oauth_states"} <= tables
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_database_urls():
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_migrated_installation_tables_are_what_slack_sdks_stores_expect(empty_database_url):
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        installations = SQLAlchemyInstallationStore(client_id="1.2", engine=engine)
        states = SQLAlchemyOAuthStateStore(expiration_seconds=60, engine=engine)
        found = inspect(engine)
        for table in (installations.installations, installations.bots, states.oauth_states):
            assert [c["name"] for c in found.get_columns(table.name)] == [c.name for c in table.columns]
    finally:
        engine.dispose()


def test_stepping_back_from_the_newest_migrations_keeps_every_touch(empty_database_url):
    """A downgrade that rebuilds `clients` in SQLite's batch mode would, with foreign keys on, delete every row that
    refers to a client: stepping back from this session's migrations must only drop what they added."""
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO workspaces (enterprise_id, team_id, created_at) "
                                 "VALUES ('', 'T1', CURRENT_TIMESTAMP)")
            conn.exec_driver_sql("INSERT INTO clients (workspace_id, name, name_key, owner_id, created_at, created_by) "
                                 "VALUES (1, 'Acme Corp', 'acme corp', 'U1', CURRENT_TIMESTAMP, 'U1')")
            conn.exec_driver_sql("INSERT INTO interactions (workspace_id, client_id, kind, direction, occurred_at, "
                                 "logged_by, created_at) VALUES (1, 1, 'call', 'in', CURRENT_TIMESTAMP, 'U1', "
                                 "CURRENT_TIMESTAMP)")
        engine.dispose()
        command.downgrade(alembic_config(normalize_url(empty_database_url)), "0015")
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM interactions").scalar() == 1
            assert conn.exec_driver_sql("SELECT count(*) FROM clients").scalar() == 1
    finally:
        engine.dispose()
