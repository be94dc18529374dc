from __future__ import annotations

from datetime import UTC, datetime

from bot.settings import SettingsError


def parse_instant(raw: str) -> datetime:
    """`--at` values: ISO-8601; without an offset, UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise SettingsError(f"--at: {raw!r} is not an ISO-8601 time like 2026-11-23T10:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
