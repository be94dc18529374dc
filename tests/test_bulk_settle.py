"""A database as a user has it right after `rapport import` or `seed-demo` (issue 32): on PostgreSQL the tables
written are vacuumed and analyzed before the command returns, so the first answers are planned from what is there
(without it, a list page read 90,000 clients of a fresh 100,000 to show 25); SQLite is left without statistics
(its plans came out the same, and it never refreshes them itself)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from storage.db import normalize_url
from tests.cli import run


def _settled(url: str, since: datetime) -> dict[str, tuple[bool, bool, float]]:
    """Per table written: vacuumed since `since`, analyzed since `since`, the planner's row estimate."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.relname, s.last_vacuum >= :since, s.last_analyze >= :since, c.reltuples "
                "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.schemaname = current_schema() AND s.relname IN ('clients', 'interactions', 'client_counts')"),
                {"since": since}).all()
        return {name: (bool(vacuumed), bool(analyzed), float(tuples)) for name, vacuumed, analyzed, tuples in rows}
    finally:
        engine.dispose()


def test_seed_demo_and_import_leave_postgresql_planned_from_what_they_wrote(database_url, tmp_path):
    since = datetime.now(UTC)
    env = {"DATABASE_URL": database_url}
    seeded = run(["seed-demo", "--clients", "300", "--per-client", "2", "--team", "T0TEAM"], tmp_path, **env)
    assert seeded.returncode == 0, seeded.stderr
    csv = tmp_path / "clients.csv"
    csv.write_text("name,owner\n" + "".join(f"Imported {i},U0OWNER\n" for i in range(50)))
    imported = run(["import", str(csv), "--team", "T0TEAM"], tmp_path, **env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    if database_url.startswith("sqlite"):
        engine = create_engine(normalize_url(database_url))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar() == 0
        engine.dispose()
        return
    settled = _settled(database_url, since)
    assert set(settled) == {"clients", "interactions", "client_counts"}
    assert all(vacuumed and analyzed for vacuumed, analyzed, _ in settled.values()), settled
    assert settled["clients"][2] == 350  # the planner knows how many clients there are
