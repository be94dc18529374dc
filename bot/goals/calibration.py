"""Calibration (PRODUCT.md §4.11): each owner's stated odds against what happened, once they have closed 5 goals:
"said 90%: met 6 of 10". App Home shows it; the monthly review can show the same lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage.goals import closed_goal_outcomes

MIN_CLOSED = 5  # fewer closed goals say nothing about anyone's judgement


@dataclass(frozen=True)
class CalibrationLine:
    odds: int  # as stated when agreed, percent
    met: int
    closed: int

    @property
    def rate(self) -> float:
        return self.met / self.closed if self.closed else 0.0


def calibrate(outcomes: Iterable[tuple[int, str]]) -> list[CalibrationLine] | None:
    """From (stated odds, 'met' or 'missed') of closed goals: one line per odds stated, highest odds first; None
    under MIN_CLOSED goals."""
    tally: dict[int, list[int]] = {}
    for odds, status in outcomes:
        met_closed = tally.setdefault(odds, [0, 0])
        met_closed[0] += status == "met"
        met_closed[1] += 1
    if sum(closed for _, closed in tally.values()) < MIN_CLOSED:
        return None
    return [CalibrationLine(odds, met, closed) for odds, (met, closed) in sorted(tally.items(), reverse=True)]


def calibration_for(session: Session, *, workspace_id: int, owner_id: str) -> list[CalibrationLine] | None:
    """A person's calibration over every goal they have closed (None under MIN_CLOSED)."""
    return calibrate(closed_goal_outcomes(session, workspace_id, owner_id))


def line_text(line: CalibrationLine) -> str:
    """'said 90%: met 6 of 10'."""
    return f"said {line.odds}%: met {line.met} of {line.closed}"


def verdict(line: CalibrationLine) -> str | None:
    """A plain word on a line with enough goals behind it: how far what happened is from what was said."""
    if line.closed < MIN_CLOSED:
        return None
    gap = line.rate * 100 - line.odds
    if gap <= -20:
        return "too hopeful"
    if gap >= 20:
        return "too cautious"
    return "about right"
