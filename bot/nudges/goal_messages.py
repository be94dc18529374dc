"""What a goal's card says (PRODUCT.md §4.11): the weekly "how confident are you now?" with a button for each of
1 to 10, the at-risk card that says to have the awkward conversation now, and "met or missed?" once its date has
passed. Pure functions from the planned facts to Block Kit, like bot/nudges/messages.py, which shows them."""

from __future__ import annotations

from typing import Any

from bot.nudges.said import WHY, Said
from bot.slack import blocks as b
from bot.when import Days

GOAL_KINDS = frozenset({"goal_check", "goal_risk", "goal_due"})
CONFIDENCE_ACTION = "goal_confidence_"  # + the number: each button has its own id
OUTCOME_ACTIONS = ("goal_met", "goal_missed")


def say_goal(kind: str, name: str, f: dict[str, Any], days: Days) -> Said:
    """What one goal reason says: the question, or the verdict, and the one next step."""
    client, what, due = b.text(name, bold=True), b.text(f["what"], italic=True), days(f["due"])
    short = b.clip(f["what"], 40)
    if kind == "goal_check":
        latest = (f"; last time you said {f['confidence']}/10 ({days(f['confidence_at'])})"
                  if f.get("confidence") is not None and f.get("confidence_at") else "")
        return Said("dart", ("How confident are you now that ", client, " will reach ", what, f" by {due}? You gave "
                             f"it {f['odds']}% when you agreed it{latest}."),
                    ("one click, 1 (it won't happen) to 10 (it's done).",),
                    f"how confident are you in {short} by {due}, 1–10?", "answer with one click", WHY[kind])
    if kind == "goal_risk":
        said = f"{f['confidence']}/10" if f.get("confidence") is not None else "low"
        drop = f", down from {f['highest']}/10 within 14 days" if f.get("highest") and f["highest"] > (
            f.get("confidence") or 0) + 1 else ""
        return Said("warning", ("The goal agreed with ", client, ", ", what, f" by {due}, is at risk: your confidence "
                                f"is {said}{drop}."),
                    ("have the awkward conversation now: what happens if we don't get there? Change the strategy, or "
                     "scope it down together.",),
                    f"the goal {short} is at risk: your confidence is {said}", "have the awkward conversation now",
                    WHY[kind])
    return Said("checkered_flag", ("The goal agreed with ", client, ", ", what, f", was due {due} (you gave it "
                                   f"{f['odds']}%). Was it met?"),
                ("press ", b.text("Mark met", bold=True), " or ", b.text("Mark missed", bold=True), "."),
                f"was {short} met? It was due {due}", "mark it met or missed", WHY["goal_due"])


def goal_controls(kind: str, nudge_id: int) -> b.Block | None:
    """The one-click answer a goal's card asks for, while the card is open."""
    value = str(nudge_id)
    if kind == "goal_check":
        return b.actions(*(b.button(str(n), f"{CONFIDENCE_ACTION}{n}", f"{value}:{n}") for n in range(1, 11)),
                         block_id=f"goal-{value}")
    if kind == "goal_due":
        return b.actions(b.button("Mark met", "goal_met", value, style="primary"),
                         b.button("Mark missed", "goal_missed", value),
                         block_id=f"goal-{value}")
    return None
