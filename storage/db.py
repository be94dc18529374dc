from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class DatabaseUrlError(ValueError):
    pass


def normalize_url(url: str) -> str:
    """Accept sqlite:///…, postgresql://… and Heroku's postgres://…; use psycopg 3 for PostgreSQL."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a long message
        raise DatabaseUrlError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")
    return url


BUSY_TIMEOUT_MS = 10000
ERASURE_WAIT_MS = 200


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The driver's implicit transactions would defeat BEGIN IMMEDIATE; SQLAlchemy emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Erasure leaves nothing in the file: what is deleted is overwritten with zeros, not left in free pages
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


READ_ONLY = "rapport_read_only"


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # Writers take the write lock up front: two writers that both start with a read would otherwise
    # deadlock on upgrade and one would fail with "database is locked". A transaction that only reads
    # (opened with the READ_ONLY execution option) does not, so in WAL mode it runs beside the writer.
    read_only = conn.get_execution_options().get(READ_ONLY)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads: on SQLite it does not take the write lock (in WAL mode it runs beside the
    writer), so a sweep reading a large portfolio never holds up a person's command."""
    with sessions() as session:  # closing ends the transaction and keeps what was read (a rollback would expire it)
        session.connection(execution_options={READ_ONLY: True})
        yield session


# A database that has gone away must not hold a person's command past Slack's 3 seconds: connecting gives up
# after CONNECT_TIMEOUT (libpq's smallest), and waiting for a pooled connection after POOL_TIMEOUT.
CONNECT_TIMEOUT = 2
POOL_TIMEOUT = 2.0


def make_engine(url: str, **kwargs: object) -> Engine:
    url = normalize_url(url)
    # A failed statement's error names its SQL, not its values: those are notes, names and messages people wrote,
    # and the error goes to the log (PRODUCT.md §7)
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() == "postgresql":
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
        connect_args = kwargs.get("connect_args", {})
        assert isinstance(connect_args, dict)
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT, **connect_args}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


ERASED = "rapport_erased"  # session.info: a client or a workspace was erased in this transaction


def _after_erasure(session: Session) -> None:
    """Once an erasure has committed on SQLite, the write-ahead log is checkpointed into the database and
    truncated: its older frames still hold the erased rows as they were (secure_delete zeroes the database's own
    pages, not the log). Best effort: a reader in the middle of a long read keeps the log until the next erasure or
    checkpoint. PostgreSQL's dead rows go when its vacuum reuses their space."""
    if not session.info.pop(ERASED, False):
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name != "sqlite":
        return
    # On the driver's connection, outside any transaction (a checkpoint cannot run inside one), waiting briefly
    # rather than the writers' 10 s: the person's answer waits on this.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={ERASURE_WAIT_MS}")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # the pool's connection, as it was
            cursor.close()
    except sqlite3.Error as exc:  # the erasure itself is committed; the next checkpoint clears the log
        log.warning("after an erasure the SQLite log could not be cleared yet: %s", exc)
    finally:
        raw.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "after_commit", _after_erasure)
    return sessions


SQLITE_PASSING = ("locked", "busy", "unable to open", "disk i/o")


def is_outage(error: BaseException) -> bool:
    """The database could not be reached, or the connection was lost (a crash, a failover, a full pool): a
    passing condition, worth trying again, and the transaction did not commit (short of the connection being
    lost during COMMIT itself, which no client can tell apart)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.OperationalError) and isinstance(error.orig, sqlite3.Error):
        # SQLite says OperationalError for a missing table too: only these pass
        return any(word in str(error.orig).lower() for word in SQLITE_PASSING)
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)


# What a bulk write (`rapport import`, `seed-demo`) adds to: the tables whose statistics and visibility it changes.
BULK_TABLES = ("clients", "client_counts", "contacts", "interactions", "referrals", "audit_events")


def settle_after_bulk_write(engine: Engine, tables: tuple[str, ...] = BULK_TABLES) -> None:
    """Make a freshly written database answer as fast as one that has been running a while (issue 32).

    PostgreSQL: `VACUUM (ANALYZE)` of the tables written, once they are committed. Without statistics the planner
    takes 100,000 new clients for a few pages and chose an index that read 90,000 of them to show a list page
    of 25 (460 ms instead of 10); the fold of a new client's counts leaves as many dead rows in `client_counts`
    for each total to step over; and index-only reads wait for the visibility map that only VACUUM writes.
    Autovacuum would get there, a minute or more later. It runs beside the app without blocking it.
    SQLite: nothing. Its plans came out the same with and without `ANALYZE` (43 of the answers' 46 statements
    alike, the others a 12-row table read whole instead of by index), and SQLite never refreshes statistics on
    its own, so statistics taken at an import would only grow stale as the workspace grows."""
    if engine.dialect.name != "postgresql":
        return
    preparer = engine.dialect.identifier_preparer
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(preparer.quote(t) for t in tables)}")
