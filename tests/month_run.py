"""One simulated month from a database URL to its checked invariants: shared by bench/month.py (the long form)
and tests/test_month.py (one week). A PostgreSQL URL gets a schema of its own for the run, dropped afterwards."""

from __future__ import annotations

import contextlib
import platform
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bot.database import open_database
from bot.settings import Settings
from storage.db import normalize_url
from tests.month import Ledger, Month
from tests.month_invariants import Check, check, report


@dataclass
class Outcome:
    seed: int
    days: int
    database: str
    seconds: float
    checks: list[Check]
    ledger: Ledger

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def summary(self) -> str:
        failed = [c for c in self.checks if not c.ok]
        known = sorted({c.known for c in failed if c.known})
        return (f"{self.database}, seed {self.seed}, {self.days} workdays: {len(self.checks) - len(failed)}/"
                f"{len(self.checks)} invariants hold in {self.seconds:.0f} s"
                + (f"; failed: {', '.join(c.name for c in failed)}" if failed else "")
                + (f" (known bugs {known})" if known else "") + f" [{platform.node()}, {platform.python_version()}]")


@contextlib.contextmanager
def own_schema(url: str) -> Iterator[str]:
    """SQLite as given; PostgreSQL: a fresh schema in that database for this run (others may share it)."""
    if not make_url(normalize_url(url)).get_backend_name().startswith("postgres"):
        yield url
        return
    schema = f"rapport_month_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def simulate(url: str, seed: int, days: int, workdir: Path, *, clients: int = 120,
             say: Callable[[str], None] = print, web_concurrency: int = 1,
             ticks: tuple[tuple[int, int], ...] = ((9, 10),)) -> Outcome:
    started = time.monotonic()
    with own_schema(url) as run_url:
        month = Month(run_url, seed, days, workdir, clients=clients, say=say, web_concurrency=web_concurrency,
                      ticks=ticks)
        ledger = month.run()
        database = open_database(Settings(database_url=run_url))
        try:
            backend = make_url(normalize_url(run_url)).get_backend_name()
            sqlite_file = Path(make_url(run_url).database or "") if backend == "sqlite" else None
            checks = check(database, month.fake, ledger, workdir / "serve.log", sqlite_file)
        finally:
            database.engine.dispose()
    outcome = Outcome(seed, days, "PostgreSQL" if backend.startswith("postgres") else "SQLite",
                      time.monotonic() - started, checks, ledger)
    say(report(checks))
    say(outcome.summary())
    return outcome
