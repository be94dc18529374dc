"""What was captured and skipped lately, by reason (PRODUCT.md §4.15): for `/client mail` and App Home, so a person
can see why a message did not count. Counts only, kept by day; nothing of any message."""

from __future__ import annotations

import secrets
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.capture.mail.matching import SKIP_WORDS
from bot.capture.mail.meetings import CANCELLED, MEETING
from bot.capture.mail.record import CAPTURED, EMAIL
from storage.mail import counts_since

WEEK = 7  # days, today included
CAPTURED_WORDS = {EMAIL: ("email", "emails"), MEETING: ("meeting", "meetings"),
                  CANCELLED: ("cancellation", "cancellations")}
KEY_ALPHABET = string.ascii_lowercase + string.digits  # lowercase: mail systems may lowercase an address
KEY_LENGTH = 24  # about 124 bits


def new_key() -> str:
    """A private inbound key: letters and digits only, so it reads the same in an address and in a URL path."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


@dataclass(frozen=True)
class Week:
    captured: Counter[str]
    skipped: Counter[str]

    def captured_line(self) -> str:
        return _counted("Captured", self.captured, lambda k, n: CAPTURED_WORDS[k][n != 1], ", ")

    def skipped_line(self) -> str:
        return _counted("skipped", self.skipped, lambda k, _n: SKIP_WORDS.get(k, k), "; ")

    def line(self) -> str:
        return f"{self.captured_line()} · {self.skipped_line()}."


def last_week(session: Session, workspace_id: int, now: datetime, zone: ZoneInfo) -> Week:
    first = (now.astimezone(zone).date() - timedelta(days=WEEK - 1)).isoformat()
    counts = counts_since(session, workspace_id, first)
    captured = Counter({k: n for k, n in counts.items() if k in CAPTURED})
    return Week(captured, Counter({k: n for k, n in counts.items() if k not in CAPTURED}))


def _counted(head: str, counts: Counter[str], word: Callable[[str, int], str], between: str) -> str:
    """'Captured 4: 3 emails, 1 meeting', most first; 'Captured 0' when there is nothing."""
    total = sum(counts.values())
    if not total:
        return f"{head} 0"
    return f"{head} {total}: " + between.join(f"{n} {word(k, n)}" for k, n in counts.most_common() if n)
