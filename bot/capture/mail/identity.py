"""Which message this is, so that it is recorded once however often it arrives (PRODUCT.md §4.15 "Once").

The same message reaches Rapport by BCC, by a provider's retry, over SMTP and from an imported mailbox; each
reader derives the same identity from it: the SHA-256 of its Message-ID, else of its sender, date and
recipients. The date is the instant the Date header names (so "+0200" and "-04:00" spellings of one instant
agree), or the header's text when it cannot be read — never the time it arrived, which differs per retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime


def identity_of(
    message_id: str | None, sender: str | None, date: datetime | str | None, recipients: Iterable[str]
) -> str:
    if message_id:
        return _digest(message_id)
    when = date.isoformat() if isinstance(date, datetime) else (date or "").strip()
    return _digest("\n".join((sender or "", when, ",".join(sorted(set(recipients))))))


def calendar_identity(keys: Iterable[tuple[str, str, str, int]]) -> str:
    """A calendar file without a message around it: its events' (method, UID, RECURRENCE-ID, SEQUENCE), so
    that the same invitation imported twice is one, and an update of it (a higher SEQUENCE) another."""
    return _digest("calendar\n" + "\n".join(sorted({"\t".join(map(str, key)) for key in keys})))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
