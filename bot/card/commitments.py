"""How a promise or an issue reads, wherever one is shown (the client card, App Home, command replies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.slack import blocks as b
from storage.models import Commitment


def day_element(day: date) -> b.Element:
    """A calendar day, shown at noon UTC so every reader sees that day."""
    return b.date(datetime.combine(day, time(12), tzinfo=UTC))


def describe(commitment: Commitment, today: date) -> list[b.Element | str]:
    """One line: what, by when, and how it stands."""
    parts: list[b.Element | str] = [b.text(commitment.what, italic=True)]
    if commitment.kind == "promise" and commitment.due_on is not None:
        days = (commitment.due_on - today).days
        standing = ("due today" if days == 0 else "due tomorrow" if days == 1 else
                    f"overdue by {-days} day{'s' if days != -1 else ''}" if days < 0 else f"due in {days} days")
        return [*parts, " · by ", day_element(commitment.due_on), f" ({standing})"]
    since = commitment.update_since or commitment.created_at
    parts += [" · open since ", b.date(commitment.created_at)]
    if commitment.due_on is not None:
        parts += [" · estimate ", day_element(commitment.due_on), " (passed)" if commitment.due_on < today else ""]
    if commitment.update_since and commitment.update_since > commitment.created_at:
        parts += [" · last update ", b.date(since)]
    else:
        parts.append(" · no update yet")
    return parts
