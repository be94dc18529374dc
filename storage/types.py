from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import CursorResult, Dialect, Result
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no timestamp type and drops offsets, so values are stored as naive UTC there and the
    offset is restored on the way out. Naive datetimes are refused on the way in: a naive value is a bug
    upstream (it would silently mean local time somewhere).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: Rapport stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through `Session.execute` changed. The session types its result as
    a plain Result; for such a statement it is the cursor's, which counts them."""
    assert isinstance(result, CursorResult)
    return result.rowcount or 0
