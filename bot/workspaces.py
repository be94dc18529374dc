"""Per-workspace settings, with the deployment's settings as their defaults."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from storage.models import Workspace


def workspace_zone(name: str) -> str | None:
    """The canonical spelling of an IANA timezone name, or None. Case-insensitive: people type europe/london."""
    if len(name) > 64 or not name.isascii():
        return None
    known = {zone.lower(): zone for zone in available_timezones()}
    return known.get(name.lower())


def tz_of(workspace: Workspace, default: ZoneInfo) -> ZoneInfo:
    """A workspace's own timezone, else the deployment's (RAPPORT_TIMEZONE)."""
    if workspace.timezone:
        try:
            return ZoneInfo(workspace.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return default  # the system's tz database dropped a name it once had
    return default
