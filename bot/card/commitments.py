"""How a promise or an issue reads, wherever one is shown (the client card, App Home, command replies)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.slack import blocks as b
from bot.when import Days
from storage.models import Commitment


def day_element(day: date) -> b.Element:
    """A calendar day, shown at noon UTC so every reader sees that day."""
    return b.date(datetime.combine(day, time(12), tzinfo=UTC))


def describe(commitment: Commitment, today: date, days: Days | None = None) -> list[b.Element | str]:
    """One line: what, by when, and how it stands. `days`: write the days as Rapport writes them itself (App
    Home), instead of Slack's date element."""
    def day(value: date) -> b.Element | str:
        return days(value) if days is not None else day_element(value)

    def moment(value: datetime) -> b.Element | str:
        return days(value) if days is not None else b.date(value)

    parts: list[b.Element | str] = [b.text(commitment.what, italic=True)]
    if commitment.kind == "promise" and commitment.due_on is not None:
        ahead = (commitment.due_on - today).days
        standing = ("due today" if ahead == 0 else "due tomorrow" if ahead == 1 else
                    f"{-ahead} day{'s' if ahead != -1 else ''} late" if ahead < 0 else f"due in {ahead} days")
        return [*parts, " · by ", day(commitment.due_on), f" ({standing})"]
    since = commitment.update_since or commitment.created_at
    parts += [" · open since ", moment(commitment.created_at)]
    if commitment.due_on is not None:
        parts += [" · estimate ", day(commitment.due_on), " (passed)" if commitment.due_on < today else ""]
    if commitment.update_since and commitment.update_since > commitment.created_at:
        parts += [" · last update ", moment(since)]
    else:
        parts.append(" · no update yet")
    return parts
