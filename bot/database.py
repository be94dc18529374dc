"""Opening the configured database for a process, with the schema check every entry point needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings, SettingsError
from storage.db import make_engine, make_session_factory
from storage.migrate import is_current, upgrade


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
