"""What we told a client, as a person types it (a promise, an issue, a goal, a barrier): cleaned to one plain line,
and found again among the open ones by its words. Commitments and goals share it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from bot.slack.text import to_plain
from storage.names import name_key, normalize_name

WHAT_MAX = 300


class Said(Protocol):
    @property
    def what(self) -> str: ...


S = TypeVar("S", bound=Said)


def clean_text(raw: str, empty: str = "Say what") -> str:
    """Plain text on one line; ValueError (saying `empty`) when there is none, or when it is too long."""
    text = normalize_name(to_plain(raw))
    if not text:
        raise ValueError(empty)
    if len(text) > WHAT_MAX:
        raise ValueError(f"That is {len(text)} characters; say it in at most {WHAT_MAX}")
    return text


def matching(items: Sequence[S], words: str) -> list[S]:
    """The open ones a person means: all of them without words; else those whose text is the words typed, or
    failing that holds every word typed."""
    typed = name_key(words)
    if not typed:
        return list(items)
    exact = [item for item in items if name_key(item.what) == typed]
    if exact:
        return exact
    return [item for item in items if all(word in name_key(item.what) for word in typed.split())]
