"""Calibration of an owner's stated odds (PRODUCT.md §4.11: "said 90%: met 6 of 10"), shown in the Goals section of
each review as it stood at the month's end, so a frozen month keeps the calibration it showed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.goals.calibration import calibrate, line_text
from storage.goals import closed_goal_outcomes


def calibration_of(session: Session, workspace_id: int, owner_id: str, until: datetime) -> str | None:
    """One line over every odds the owner stated ("… said 90%: met 6 of 10; said 50%: met 1 of 3"), or None under
    the 5 closed goals that say anything about anyone's judgement."""
    lines = calibrate(closed_goal_outcomes(session, workspace_id, owner_id, until))
    if not lines:
        return None
    return "The owner's odds against what happened: " + "; ".join(line_text(line) for line in lines)
