"""What a goal's card says (PRODUCT.md §4.11): the weekly "how confident are you now?" with a button for each of
1 to 10, the at-risk card that says to have the awkward conversation now, and "met or missed?" once its date has
passed. Pure functions from the planned facts to Block Kit, like bot/nudges/messages.py, which shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.slack import blocks as b

GOAL_KINDS = frozenset({"goal_check", "goal_risk", "goal_due"})
CONFIDENCE_ACTION = "goal_confidence_"  # + the number: each button has its own id
OUTCOME_ACTIONS = ("goal_met", "goal_missed")


def _day(value: str) -> b.Element:
    return b.date(datetime.fromisoformat(value).replace(hour=12, tzinfo=UTC))


def _latest(f: dict[str, Any]) -> list[b.Element | str]:
    if f.get("confidence") is None or not f.get("confidence_at"):
        return ["You haven't said how confident you are yet."]
    return [f"Last time you said {f['confidence']}/10 (", b.date(datetime.fromisoformat(f["confidence_at"])), ")."]


def goal_reason(kind: str, f: dict[str, Any], name: str) -> tuple[list[b.Block], str]:
    """Rich-text lines for one goal reason, and its one-line plain-text fallback."""
    client, what, due = b.text(name, bold=True), b.text(f["what"], italic=True), _day(f["due"])
    why = b.text("Why it matters: ", bold=True)
    nxt = b.text("Next: ", bold=True)
    if kind == "goal_check":
        lines = [
            b.line(b.emoji("dart"), " How confident are you now that ", client, " will reach ", what, " by ", due,
                   f"? You gave it {f['odds']}% when you agreed it."),
            b.line(*_latest(f)),
            b.line(why, "a goal slipping is easier to save the week you notice than the week it is due."),
            b.line(nxt, "one click, 1 (it won't happen) to 10 (it's done)."),
        ]
        return lines, f"How confident are you now in {f['what']} for {name}, 1–10?"
    if kind == "goal_risk":
        said = f"{f['confidence']}/10" if f.get("confidence") is not None else "low"
        drop = f", down from {f['highest']}/10 within 14 days" if f.get("highest") and f["highest"] > (
            f.get("confidence") or 0) + 1 else ""
        lines = [
            b.line(b.emoji("warning"), " The goal agreed with ", client, ", ", what, " by ", due,
                   f", is at risk: your confidence is {said}{drop}."),
            b.line(why, "clients forgive a goal missed far more easily than one they were surprised by."),
            b.line(nxt, "have the awkward conversation now: what happens if we don't get there? Change the "
                   "strategy, or scope it down together."),
        ]
        return lines, f"The goal {f['what']} for {name} is at risk."
    lines = [
        b.line(b.emoji("checkered_flag"), " The goal agreed with ", client, ", ", what, ", was due ", due,
               f" (you gave it {f['odds']}%). Was it met?"),
        b.line(why, "comparing the odds you gave with what happened is how your next estimate gets honest."),
        b.line(nxt, "mark it met or missed."),
    ]
    return lines, f"Was {f['what']} for {name} met or missed?"


def goal_controls(kind: str, nudge_id: int) -> b.Block | None:
    """The one-click answer a goal's card asks for, while the card is open."""
    value = str(nudge_id)
    if kind == "goal_check":
        return b.actions(*(b.button(str(n), f"{CONFIDENCE_ACTION}{n}", f"{value}:{n}") for n in range(1, 11)),
                         block_id=f"goal-{value}")
    if kind == "goal_due":
        return b.actions(b.button("Met", "goal_met", value, style="primary"), b.button("Missed", "goal_missed", value),
                         block_id=f"goal-{value}")
    return None
