"""How a goal reads, wherever one is shown (the client card, App Home, command replies)."""

from __future__ import annotations

from datetime import date

from bot.card.commitments import day_element
from bot.goals.ledger import barriers_of
from bot.slack import blocks as b
from storage.models import Goal


def describe_goal(goal: Goal, today: date) -> list[b.Element | str]:
    """One line: what, by when, the odds stated, the latest confidence, and at risk or past its date."""
    days = (goal.due_on - today).days
    standing = ("due today" if days == 0 else "due tomorrow" if days == 1 else
                f"past its date by {-days} day{'s' if days != -1 else ''}: met or missed?" if days < 0 else
                f"in {days} days")
    parts: list[b.Element | str] = [b.text(goal.what, italic=True), " · by ", day_element(goal.due_on),
                                    f" ({standing}) · odds {goal.odds}%"]
    if goal.confidence is not None and goal.confidence_at is not None:
        parts += [f" · confidence {goal.confidence}/10 (", b.date(goal.confidence_at), ")"]
    else:
        parts.append(" · no confidence given yet")
    if goal.at_risk_since is not None:
        parts += [" · ", b.text("at risk", bold=True)]
    return parts


def barrier_words(goal: Goal) -> str:
    found = barriers_of(goal)
    return "; ".join(found)


def goal_lines(goals: list[Goal], today: date) -> list[b.Block]:
    """The client card's lines (PRODUCT.md §4.11): each open goal, with the barriers named when it was agreed."""
    lines = []
    for goal in goals:
        parts = [b.emoji("dart"), " Goal: ", *describe_goal(goal, today)]
        barriers = barrier_words(goal)
        if barriers:
            parts += [" · barriers: ", b.text(barriers)]
        lines.append(b.line(*parts))
    return lines
