"""What one reason on a card says (PRODUCT.md §4.8: a card is short), in the shape every kind shares: one headline
(what happened, with dates and numbers), one next step, the same two short for the plain-text fallback, App Home
and the digest, and why it matters — said once, behind *View client*, not on every card every day."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack import blocks as b

CLAUSE_MAX = 120  # a client's clause in a notification: what happened and what to do, read aloud by screen readers
NAME_IN_CLAUSE = 40
# Why each kind of nudge matters, one sentence: said once, at the top of *View client*, not on every card every day
WHY = {
    "quiet": "Clients rarely say they are unhappy; they go quiet first.",
    "unanswered": "When calls and emails stop being returned, another email is the easiest thing to ignore.",
    "checkin": "Small, regular conversations catch problems while they are still small.",
    "thank": "A referral is the strongest sign of trust, and an unthanked one is rarely repeated.",
    "at_risk": "Clients rarely complain outright; warning signs piling up is how leaving usually starts.",
    "advocate": "The advocate going quiet is the earlier warning.",
    "winback": "A former client's honest view is the most useful feedback you will get, and staying useful without "
               "selling keeps the door open.",
    "reply": "A question left waiting tells a client how much they matter; a quick answer is the cheapest trust there "
             "is.",
    "promise": "A promise kept on time is the simplest proof they can rely on you; trust is lost first where one "
               "slips without a word.",
    "issue": "The client cares less that you are working on it than about when it will be solved.",
    "eta": "A missed estimate that nobody mentions hurts more than the delay itself.",
    "heads_up": "An advocate who hears about it from someone else stops being your advocate.",
    "goal_check": "A goal slipping is easier to save the week you notice than the week it is due.",
    "goal_risk": "Clients forgive a goal missed far more easily than one they were surprised by.",
    "goal_due": "Comparing the odds you gave with what happened is how your next estimate gets honest.",
    "intro": "A warm introduction from the person the client trusts carries that trust over; a new name out of the "
             "blue does not.",
    "handoff_checkin": "The months after a change of hands are when a client quietly decides whether to stay.",
    "closeout": "A project that ends loose (logins not handed over, open issues not listed) is what the client "
                "remembers, more than the work.",
    "referable": "Most happy clients are willing to refer, but few are ever given an easy way to; give first, never "
                 "make it a condition.",
}
WHY["intro_reminder"] = WHY["intro"]


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
