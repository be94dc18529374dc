"""The IANA name of the zone an invitation's times are written in (PRODUCT.md §4.15 "Calendars").

Exchange and Outlook name zones the Windows way ("W. Europe Standard Time", "Pacific Standard Time"). The map
to IANA names is the one icalendar ships and maintains (generated from CLDR's windowsZones.xml, the Unicode
Consortium's mapping), so no copy of it lives here. Lightning and libical write "globally unique" TZIDs
(`/mozilla.org/20050126_1/Europe/Berlin`) whose tail is the IANA name.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


def iana_name(tzid: str) -> str | None:
    """The IANA zone a TZID means, or None when it names none we know (the instants still come from the
    invitation's own VTIMEZONE; only a repeating meeting's daylight-saving steps are then lost)."""
    raw = tzid.strip().strip('"')
    cleaned = raw.strip("/")
    candidates = [cleaned]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if raw.startswith("/"):
        parts = cleaned.split("/")
        candidates.extend("/".join(parts[start:]) for start in range(1, len(parts)))
    return next((name for name in candidates if zone(name) is not None), None)


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo | None:
    """The zone of an IANA name, or None for anything else (a Windows name, a typo, a path)."""
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None
