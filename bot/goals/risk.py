"""When a goal is at risk (PRODUCT.md §4.11): a confidence of 3 or less, or a drop of 2 or more within 14 days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

RISK_LEVEL = 3  # this confident or less: at risk
RISK_DROP = 2  # a fall this large from any answer within RISK_WINDOW: at risk
RISK_WINDOW = timedelta(days=14)


def is_at_risk(latest: int, checks_last_14_days: Sequence[int]) -> bool:
    """`latest`: the newest answer (1-10); `checks_last_14_days`: the answers given in the 14 days up to it (the
    newest may be among them; it changes nothing). A drop is measured from the highest of them, so 8, 7, 6 is a
    drop of 2 even though no single step was."""
    return latest <= RISK_LEVEL or any(earlier - latest >= RISK_DROP for earlier in checks_last_14_days)
