"""What the nudges of handoffs, closeouts and the referral channel say (PRODUCT.md §4.13-4.14): pure functions
from the planned facts to what each reason says (bot/nudges/said.py), like the other kinds in wording.py."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from bot.handoffs.closeout import ITEM_WORDS
from bot.nudges.said import WHY, Said
from bot.slack import blocks as b
from bot.when import Days
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


def say(kind: str, name: str, f: dict[str, Any], days: Days) -> Said:
    """What one reason of these kinds says."""
    client = b.text(name, bold=True)
    contact: list[b.Element | str] = [b.text(f["contact"], bold=True)] if f.get("contact") else ["their main contact"]
    who = f.get("contact") or "their main contact"
    if kind in ("intro", "intro_reminder"):
        again = " still" if kind == "intro_reminder" else ""
        return Said("handshake", (b.user(f["from"]), ", you handed ", client, " to ", b.user(f["to"]),
                                  f" on {days(f['at'])};{again} introduce them to ", *contact, "."),
                    ("a short message or call to ", *contact, " with ", b.user(f["to"]), " in it; any touch between ",
                     b.user(f["to"]), " and the client closes this, or press ", b.text("Mark introduced", bold=True),
                     "."),
                    f"handed over on {days(f['at'])}, and {who} not yet introduced to the new owner",
                    "introduce them, warmly", WHY[kind])
    if kind == "handoff_checkin":
        return Said("calendar", (f"{f['days']} days since you took over ", client, " from ", b.user(f["from"]),
                                 f" (check-in {f['number']} of {f['of']})."),
                    ("ask ", *contact, " ", CHECKIN_QUESTIONS.get(f["days"], "how it is going"), "; then press ",
                     b.text("Record check-in", bold=True), "."),
                    f"{f['days']} days since you took them over: a check-in is due", f"ask {who} how it is going",
                    WHY[kind])
    if kind == "closeout":
        left = ", ".join(ITEM_WORDS.get(item, item).lower() for item in f["left"])
        return Said("clipboard", ("The closeout of ", client, f"'s project, opened {days(f['opened'])}, has "
                                  f"{len(f['left'])} of {f['of']} items unticked: {left}."),
                    ("finish them and tick them: ", b.text(f"/client closeout {name}", code=True),
                     " shows the checklist."),
                    f"the project closeout has {len(f['left'])} of {f['of']} items unticked",
                    "finish them and tick them off", WHY[kind])
    if kind == "referable":
        return Said("seedling", (client, " has been a deep relationship for two months and just told you it is "
                                 "working: a good moment to make referring you easy, if it feels natural."),
                    ("send something they could forward as it is, two lines: ",
                     b.text("“What we did together, in one sentence. Who it would help, and how to reach you.”",
                            italic=True)),
                    "a deep relationship that just said it is working", "send two lines they could forward",
                    WHY[kind])
    raise ValueError(f"unknown nudge kind {kind!r}")
