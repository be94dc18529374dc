"""The rules of goals (PRODUCT.md §4.11): agreeing one, answering the weekly question, closing it met or missed,
finding the one a person means. Every write keeps the goal's summary current (latest confidence, at risk since,
when its rule looks next), so cards, App Home and reviews read it without rescanning the history.

When a goal asks next is the nudge engine's to work out (it knows the business hours): every change here asks
the rule to look at once (`next_check_at = now`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.goals.risk import RISK_WINDOW, is_at_risk
from bot.relationship.cards import answer_nudges
from storage.goals import confidences_since, unhandled_nudges_of_goal
from storage.models import Client, Goal, GoalCheck

ODDS = (90, 70, 50, 30)
DEFAULT_ODDS = 70
BARRIERS_MAX = 3
CONFIDENCE = range(1, 11)




def barriers_of(goal: Goal) -> list[str]:
    try:
        found = json.loads(goal.barriers or "[]")
    except ValueError:
        return []
    return [str(b) for b in found] if isinstance(found, list) else []


def agree(session: Session, client: Client, what: str, due_on: date, odds: int, barriers: Sequence[str],
          user_id: str, now: datetime) -> Goal:
    """A new goal, owned by the client's owner (whose odds calibration will judge); the rule looks at it at once."""
    assert odds in ODDS and len(barriers) <= BARRIERS_MAX
    goal = Goal(workspace_id=client.workspace_id, client_id=client.id, owner_id=client.owner_id, what=what,
                due_on=due_on, odds=odds, barriers=json.dumps(list(barriers)), created_at=now, created_by=user_id,
                status="open", next_check_at=now)
    session.add(goal)
    session.flush()
    return goal


def check(session: Session, goal: Goal, confidence: int, note: str | None, user_id: str, now: datetime) -> bool:
    """An answer to "how confident are you now?": kept, the goal's summary brought up to date, its waiting
    weekly question answered. Returns whether this answer put the goal at risk (it was not before)."""
    assert confidence in CONFIDENCE
    earlier = confidences_since(session, goal.id, now - RISK_WINDOW)
    session.add(GoalCheck(workspace_id=goal.workspace_id, goal_id=goal.id, confidence=confidence, note=note, at=now,
                          by=user_id))
    goal.confidence, goal.confidence_at = confidence, now
    was = goal.at_risk_since is not None
    if is_at_risk(confidence, earlier):
        goal.at_risk_since = goal.at_risk_since or now
    else:
        goal.at_risk_since = None
    goal.next_check_at = now  # the rule plans the at-risk card, or schedules the next week's question
    if was != (goal.at_risk_since is not None):
        _client_risk_changed(session, goal, now)
    _answer(session, goal, ("check",), f"answered {confidence}/10", user_id, now)
    return not was and goal.at_risk_since is not None


def close_goal(session: Session, goal: Goal, outcome: str, note: str | None, user_id: str, now: datetime) -> None:
    """Met or missed: nothing more is asked, it is no longer a warning sign, and its cards read as done (a card
    with other reasons still open stays open for them)."""
    assert outcome in ("met", "missed")
    at_risk = goal.at_risk_since is not None
    goal.status, goal.closed_at, goal.closed_by, goal.closed_note = outcome, now, user_id, note
    goal.next_check_at = None
    goal.at_risk_since = None
    if at_risk:
        _client_risk_changed(session, goal, now)
    _answer(session, goal, None, f"marked it {outcome}", user_id, now)


def _client_risk_changed(session: Session, goal: Goal, now: datetime) -> None:
    """A warning sign came or went: the client's at-risk rule looks again."""
    client = session.get(Client, goal.client_id)
    if client is not None:
        client.next_at_risk_at = now


def _answer(session: Session, goal: Goal, kinds: tuple[str, ...] | None, action: str, user_id: str,
            now: datetime) -> None:
    """The goal's unhandled nudges (of these kinds; all of them when None) are answered: one still waiting for a
    card is dropped, one on a card is marked handled, and the card closes when nothing else on it is open."""
    nudges = [n for n in unhandled_nudges_of_goal(session, goal.id)
              if kinds is None or n.kind.removeprefix("goal_") in kinds]
    answer_nudges(session, nudges, action, user_id, now)

