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


def clause(name: str, whats: list[str], todo: str) -> str:
    """'Acme Corp: no reply to 3 emails since 30 Jun. Call them, or ask for a short meeting.' in at most
    CLAUSE_MAX characters: what happened (the worst first, then as many others as fit, the rest counted), then
    the step. A long name or a long fact is cut at a word, never the step."""
    head = clip_words(name, NAME_IN_CLAUSE) + ": "
    tail = f" {todo[:1].upper()}{todo[1:]}." if todo else ""
    said = summary(whats, CLAUSE_MAX - len(head) - len(tail) - 1)  # the full stop after what happened
    return head + said + ("" if said.endswith(("?", ".", "!")) else ".") + tail


def summary(whats: list[str], room: int) -> str:
    """What happened, the worst first, then as many of the others as fit in `room` characters, the rest counted:
    'no reply to 3 emails since 2 Dec; no word from them since 9 Nov (+1 more)'."""
    more = f" (+{len(whats) - 1} more)" if len(whats) > 1 else ""
    said = clip_words(whats[0], room - len(more))
    for index, what in enumerate(whats[1:], start=1):
        left = len(whats) - index - 1  # still to say after this one
        longer = f"{said}; {what}"
        if len(longer) + len(f" (+{left} more)" if left else "") > room:
            return said + f" (+{len(whats) - index} more)"
        said = longer
    return said


def clip_words(value: str, limit: int) -> str:
    """At most `limit` characters, cut after a whole word with '…'."""
    if len(value) <= limit:
        return value
    cut = value[: max(limit - 1, 1)]
    if " " in cut[1:]:
        cut = cut[: cut.rindex(" ")].rstrip(" ,;:")
    return cut + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + ('es' if word.endswith(('ch', 'sh', 's')) else 's')}"
