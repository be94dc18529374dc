"""Calibration of an owner's stated odds (PRODUCT.md §4.11: "said 90%: met 6 of 10"), shown in the Goals section of
each review. The goals work writes it: this is the one place the review asks for it.

INTEGRATOR: replace the body with the goals branch's calibration (per owner, once they have 5 closed goals, as of
`until`); it returns one line or None, and the review shows it beneath the goals when it is not None.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def calibration_of(session: Session, workspace_id: int, owner_id: str, until: datetime) -> str | None:
    return None
