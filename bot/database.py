"""Opening the configured database for a process, with the schema check every entry point needs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings, SettingsError
from storage.db import is_outage, make_engine, make_session_factory
from storage.migrate import is_current, upgrade

__all__ = ["Database", "is_outage", "open_database", "wait_for_database"]


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def open_database(settings: Settings, *, migrate_sqlite: bool = True) -> Database:
    """SQLite, the embedded default, is brought up to date automatically; a shared PostgreSQL is not
    touched behind the operator's back: `rapport migrate` (the Procfile's release step) does that."""
    engine = make_engine(settings.database_url, pool_pre_ping=True)
    try:
        if engine.dialect.name == "sqlite" and migrate_sqlite:
            upgrade(settings.database_url)
        elif not is_current(engine):
            raise SettingsError("DATABASE_URL: the schema is not up to date; run `rapport migrate` first")
    except SettingsError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise SettingsError(f"DATABASE_URL: cannot open the database ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    return Database(engine, make_session_factory(engine))


def wait_for_database(engine: Engine, stop: threading.Event, timeout: float) -> bool:
    """Until the database answers (True), `stop` is set or `timeout` seconds went by (False). The pool's
    pre-ping replaces the connections the outage broke, so nothing needs restarting."""
    deadline, wait = time.monotonic() + timeout, 0.25
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            if not is_outage(exc):
                raise
        if time.monotonic() + wait > deadline:
            return False
        stop.wait(wait)
        wait = min(wait * 2, 2.0)
    return False
