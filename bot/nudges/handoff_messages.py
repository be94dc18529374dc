"""What the nudges of handoffs, closeouts and the referral channel say (PRODUCT.md §4.13-4.14): pure functions
from the planned facts to rich-text lines and a plain-text fallback, like the other kinds in messages.py."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from bot.handoffs.closeout import ITEM_WORDS
from bot.slack import blocks as b
from storage.handoffs import INTRO_KINDS

KINDS = frozenset({"intro", "intro_reminder", "handoff_checkin", "closeout", "referable"})
INTRODUCTIONS = frozenset(INTRO_KINDS)


def addressed_to(kinds: Collection[str], facts: Mapping[str, Any], owner: str) -> str:
    """Whose a card is: an introduction after a handoff is the previous owner's to make (§4.13), so a card holding
    only that is addressed to them, and with no channel goes to their DM. A card with other reasons too stays the
    client's owner's: one card is one message, and its buttons act on all of it."""
    if kinds and set(kinds) <= INTRODUCTIONS and isinstance(facts.get("from"), str):
        return str(facts["from"])
    return owner


CHECKIN_QUESTIONS = {
    30: "how the first month went: what they expected that you did not know yet",
    60: "whether anything slipped in the change of hands, and what they would like done differently",
    90: "how they feel about everything now, the question you would ask any client you have known for years",
}


def _why(*parts: b.Element | str) -> b.Block:
    return b.line(b.text("Why it matters: ", bold=True), *parts)


def _next(*parts: b.Element | str) -> b.Block:
    return b.line(b.text("Next: ", bold=True), *parts)


def _when(value: str) -> b.Element:
    return b.date(datetime.fromisoformat(value))


def render(kind: str, name: str, f: dict[str, Any]) -> tuple[list[b.Block], str]:
    """Lines for one reason of these kinds, and its one-line fallback."""
    client = b.text(name, bold=True)
    contact: list[b.Element | str] = [b.text(f["contact"], bold=True)] if f.get("contact") else ["their main contact"]
    if kind in ("intro", "intro_reminder"):
        again = " still" if kind == "intro_reminder" else ""
        lines = [
            b.line(b.emoji("handshake"), " ", b.user(f["from"]), ", you handed ", client, " to ", b.user(f["to"]),
                   " on ", _when(f["at"]), f";{again} introduce them to ", *contact, "."),
            _why("a warm introduction from the person the client trusts carries that trust over; a new name out "
                 "of the blue does not."),
            _next("a short message or call to ", *contact, " with ", b.user(f["to"]), " in it. Any touch between ",
                  b.user(f["to"]), " and the client closes this, or press ", b.text("Introduced", bold=True), "."),
        ]
        return lines, f"Introduce the new owner of {name} to {f.get('contact') or 'their main contact'}."
    if kind == "handoff_checkin":
        lines = [
            b.line(b.emoji("calendar"), " ", f"{f['days']} days since you took over ", client, " from ",
                   b.user(f["from"]), f" (check-in {f['number']} of {f['of']})."),
            _why("the months after a change of hands are when a client quietly decides whether to stay."),
            _next("ask ", *contact, " ", CHECKIN_QUESTIONS.get(f["days"], "how it is going"), "; then log it: ",
                  b.text(f"/client checkin {name} done : …", code=True)),
        ]
        return lines, f"{f['days']}-day check-in with {name} after the handoff."
    if kind == "closeout":
        left = ", ".join(ITEM_WORDS.get(item, item).lower() for item in f["left"])
        lines = [
            b.line(b.emoji("clipboard"), " The closeout of ", client, "'s project, opened ", _when(f["opened"]),
                   f", has {len(f['left'])} of {f['of']} items unticked: {left}."),
            _why("a project that ends loose (logins not handed over, open issues not listed) is what the client "
                 "remembers, more than the work."),
            _next("finish them and tick them: ", b.text(f"/client closeout {name}", code=True), " shows the "
                  "checklist."),
        ]
        return lines, f"The closeout of {name} has {len(f['left'])} items unticked."
    if kind == "referable":
        lines = [
            b.line(b.emoji("seedling"), " ", client, " has been a deep relationship for two months and just told "
                   "you it is working. A good moment to make referring you easy, if it feels natural."),
            _why("most happy clients are willing to refer, but few are ever given an easy way to; give first, "
                 "never make it a condition."),
            _next("send something they could forward as it is, two lines: ",
                  b.text("“What we did together, in one sentence. Who it would help, and how to reach you.”",
                         italic=True)),
        ]
        return lines, f"A good moment to make referring easy for {name}."
    raise ValueError(f"unknown nudge kind {kind!r}")
