"""Markers: when something that runs once in a while last ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Marker,
)


def last_marker(session: Session, name: str) -> datetime | None:
    marker = session.get(Marker, name)
    return marker.at if marker else None


def set_marker(session: Session, name: str, at: datetime) -> None:
    """Moves forward only (a sweep `--at` an earlier instant does not set it back); safe when sweeps race."""
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert_fn(Marker).values(name=name, at=at)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"at": stmt.excluded.at},
                                               where=Marker.at < stmt.excluded.at))
