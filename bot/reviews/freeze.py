"""Freezing a month (PRODUCT.md §4.12): at the first sweep of a new month, in the workspace's timezone, every
client's review of the month just ended is computed and stored, so a past review shows what it showed then.

Like planning, it works a page of clients at a time, each page a short transaction of its own that the caller
opens (bot/nudges/planner.py): memory holds one page, and a pass stopped part-way carries on from the last client
frozen (`ReviewFreeze.after_client_id`); a month already stored for a client is never rewritten.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from bot.reviews.figures import VERSION, Rules, compute
from bot.reviews.months import last_full_key, month_of
from storage.models import ReviewFreeze
from storage.reviews import reviewable_clients, save_frozen

PAGE = 500


def month_to_freeze(state: ReviewFreeze | None, now: datetime, rules: Rules) -> str | None:
    """The month this workspace still has to freeze, if any: the last full one, unless it is done."""
    key = last_full_key(now, rules.tz)
    if state is not None and state.month == key and state.done_at is not None:
        return None
    return key


def freeze_page(session: Session, workspace_id: int, key: str, now: datetime, rules: Rules, page: int = PAGE
                ) -> bool:
    """Freeze the next page of the workspace's clients for month `key`; False once every client is done (the
    month is then marked frozen). The caller commits."""
    state = session.get(ReviewFreeze, workspace_id, with_for_update=True)
    if state is None:
        state = ReviewFreeze(workspace_id=workspace_id, month=key, after_client_id=0)
        session.add(state)
    elif state.month != key:
        state.month, state.after_client_id, state.done_at = key, 0, None
    if state.done_at is not None:
        return False
    month = month_of(key, rules.tz)
    clients = reviewable_clients(session, workspace_id, state.after_client_id, page, month.start, month.end)
    if not clients:
        state.done_at = now
        return False
    figures = compute(session, clients, key, month.end, rules)
    save_frozen(session, [{"workspace_id": workspace_id, "client_id": client.id, "month": key, "frozen_at": now,
                           "version": VERSION, "figures": json.dumps(figures[client.id], separators=(",", ":"))}
                          for client in clients])
    state.after_client_id = clients[-1].id
    return True
