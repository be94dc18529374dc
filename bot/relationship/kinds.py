"""What can be logged (PRODUCT.md §3) and the direction each kind implies."""

from __future__ import annotations

CONTACT_KINDS = ("call", "meeting", "email", "message", "visit")
LOGGED_WARNING_SIGNS = ("cancel", "delay", "dispute", "complaint")
# Recorded by Rapport, never typed: the client's advocate left a linked channel (PRODUCT.md §4.13). An internal
# record (no direction): it is no contact, only a warning sign.
LEFT = "left"
WARNING_SIGNS = (*LOGGED_WARNING_SIGNS, LEFT)

# Signals carry their own direction: something they did reached us ('in'); our own mistake is an
# internal record, not a contact, so it neither ends a silence nor counts as unanswered outreach.
FIXED_DIRECTION: dict[str, str | None] = {
    "note": None,
    "checkin": "both",
    "help": "in",
    "acted": "in",
    "praise": "in",
    "strategic": "in",
    "early": "in",
    "forgave": "in",
    "mistake": None,
    **{kind: "in" for kind in LOGGED_WARNING_SIGNS},
}

ALL_KINDS = (*CONTACT_KINDS, *FIXED_DIRECTION)

ALIASES = {"check-in": "checkin", "meet": "meeting", "msg": "message", "dm": "message", "phone": "call"}

LABELS = {
    "call": "call",
    "meeting": "meeting",
    "email": "email",
    "message": "message",
    "visit": "visit",
    "note": "note",
    "checkin": "check-in",
    "help": "asked us for help",
    "acted": "acted on our advice",
    "praise": "praise",
    "strategic": "involved us in a strategic matter",
    "early": "brought us in early",
    "forgave": "forgave a mistake",
    "mistake": "our mistake",
    "cancel": "last-minute cancellation",
    "delay": "delay",
    "dispute": "fee dispute",
    "complaint": "complaint",
    LEFT: "the advocate left a linked channel",
}

DIRECTION_WORDS = {"in": "from them", "out": "from us, no reply yet", "both": "two-way"}


def normalize_kind(word: str) -> str | None:
    word = word.lower()
    word = ALIASES.get(word, word)
    return word if word in ALL_KINDS else None


WORD_DIRECTIONS = {"from": "in", "to": "out"}


def direction_for(kind: str, override: str | None) -> str | None:
    """'from' means they reached us, 'to' that we reached them; contact kinds default to two-way."""
    if kind in CONTACT_KINDS:
        return WORD_DIRECTIONS[override] if override is not None else "both"
    return FIXED_DIRECTION[kind]


def direction_conflict(kind: str, word: str | None) -> str | None:
    """Why a direction word cannot go with a kind, or None. A word that agrees with a kind's own direction is
    fine (`help from`: they came to us); one that contradicts it, or any on an internal record, is not."""
    if word is None or kind in CONTACT_KINDS:
        return None
    fixed = FIXED_DIRECTION[kind]
    if fixed is not None and WORD_DIRECTIONS.get(word) == fixed:
        return None
    if fixed is None:
        return f"{kind!r} is an internal record with no direction; drop {word!r}."
    side = "from them" if fixed == "in" else "a two-way conversation"
    return f"{kind!r} is always {side}; drop {word!r}. Only {', '.join(CONTACT_KINDS)} take from or to."


def touch_words(kind: str) -> str:
    """How a logged touch reads where it closed a card: 'logged a call', 'logged a fee dispute'."""
    if kind in CONTACT_KINDS or kind == "checkin":
        return f"logged {'an' if LABELS[kind][0] in 'aeiou' else 'a'} {LABELS[kind]}"
    return f"logged {LABELS[kind]}"
