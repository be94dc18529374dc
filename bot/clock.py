from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The one place Rapport reads the wall clock; everything else takes `now` as an argument."""
    return datetime.now(UTC)
