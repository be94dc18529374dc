"""What one reason on a card says (PRODUCT.md §4.8: a card is short), in the shape every kind shares: one headline
(what happened, with dates and numbers), one next step, the same two short for the plain-text fallback, App Home
and the digest, and why it matters — said once, behind *View client*, not on every card every day."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack import blocks as b

CLAUSE_MAX = 120  # a client's clause in a notification: what happened and what to do, read aloud by screen readers
NAME_IN_CLAUSE = 40


@dataclass(frozen=True)
class Said:
    emoji: str
    headline: tuple[b.Element | str, ...]  # rich text: what happened; the client's name in bold
    next: tuple[b.Element | str, ...]  # rich text: the one next step, in a kind voice
    what: str  # plain: what happened, short, without the client's name ("no reply to 3 emails since 30 Jun")
    todo: str  # plain: the next step, short ("call Hugo Moreau")
    why: str  # why it matters, one sentence


def clause(name: str, what: str, todo: str) -> str:
    """'Acme Corp: no reply to 3 emails since 30 Jun. Call them, or ask for a short meeting.' in at most
    CLAUSE_MAX characters: a long name or a long fact is cut, never the step."""
    head = b.clip(name, NAME_IN_CLAUSE) + ": "
    tail = f". {todo[:1].upper()}{todo[1:]}." if todo else "."
    room = CLAUSE_MAX - len(head) - len(tail)
    return b.clip(head + b.clip(what, max(room, 1)) + tail, CLAUSE_MAX)


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + ('es' if word.endswith(('ch', 'sh', 's')) else 's')}"
