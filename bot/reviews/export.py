"""`rapport reviews --month YYYY-MM [--client NAME] --csv FILE` (PRODUCT.md §4.12): one row per client, the same
columns in the same order every month (docs/reference/csv.md lists them). Frozen months are read as frozen; a
month not frozen (the current one, so far) is worked out. A page of clients at a time, so memory stays flat."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from bot.reviews.figures import Rules, compute, wrong_count
from bot.reviews.months import month_of
from bot.spreadsheet import safe_cell
from storage.models import Client, Workspace
from storage.reviews import count_reviewable, frozen_of, reviewable_clients

PAGE = 500
COLUMNS = (
    "month", "client", "owner", "status", "so_far",
    "touches_in", "touches_out", "touches_in_last_month", "touches_out_last_month",
    "touches_in_3mo_avg", "touches_out_3mo_avg", "answer_median_minutes", "questions_answered",
    "questions_unanswered",
    "promises_kept_on_time", "promises_kept_late", "promises_missed",
    "issues_opened", "issues_resolved", "issues_open_over_7d", "updates_owed", "updates_given",
    "goals", "goals_met", "goals_missed", "goals_at_risk",
    "health", "health_last_month", "signals", "warning_signs", "went_wrong",
    "open_promises", "open_issues", "next_checkin", "frozen_at", "shared_at",
)


def row_of(figures: dict[str, Any], frozen_at: datetime | None, shared_at: datetime | None) -> list[str]:
    c, k, g, h, n = (figures[key] for key in ("contact", "commitments", "goals", "health", "next"))
    months = h["months"]
    values: list[object] = [
        figures["month"], figures["client"], figures["owner"], figures["status"], "yes" if figures["so_far"] else "no",
        c["in"], c["out"], c["in_last"], c["out_last"], c["in_avg3"], c["out_avg3"],
        "" if c["answer_median_minutes"] is None else c["answer_median_minutes"], c["answered"], c["unanswered"],
        k["kept_on_time"], k["kept_late"], k["missed"], k["issues_opened"], k["issues_resolved"],
        k["issues_open_over_7d"], k["updates_owed"], k["updates_given"],
        len(g["items"]), g["met"], g["missed"], g["at_risk"],
        h["label"] or "", (months[-2]["label"] or "") if len(months) > 1 else "",
        sum(1 for s in h["signals"] if s["now"]), len(figures["wrong"]["signs"]), wrong_count(figures),
        len(n["promises"]), len(n["issues"]), (n["checkin"] or "")[:10],
        frozen_at.isoformat() if frozen_at else "", shared_at.isoformat() if shared_at else "",
    ]
    return [safe_cell(str(v)) for v in values]


def write_reviews(session: Session, workspace: Workspace, key: str, now: datetime, rules: Rules, out: IO[str],
                  only: Client | None = None, progress: Callable[[int], object] = lambda _n: None) -> int:
    """Write the header and one row per client; returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    month = month_of(key, rules.tz)
    written, after = 0, 0
    while True:
        clients = [only] if only is not None and after == 0 else [] if only is not None else \
            reviewable_clients(session, workspace.id, after, PAGE, month.start, month.end)
        if not clients:
            return written
        after = clients[-1].id
        frozen = frozen_of(session, [c.id for c in clients], key)
        missing = [c for c in clients if c.id not in frozen]
        live = compute(session, missing, key, now, rules) if missing else {}
        for client in clients:
            row = frozen.get(client.id)
            figures = json.loads(row.figures) if row else live[client.id]
            writer.writerow(row_of(figures, row.frozen_at if row else None, row.shared_at if row else None))
        written += len(clients)
        progress(len(clients))
        session.expunge_all()  # a page at a time: nothing of the last page stays in memory


def total_for(session: Session, workspace: Workspace, key: str, rules: Rules) -> int:
    month = month_of(key, rules.tz)
    return count_reviewable(session, workspace.id, month.start, month.end)
