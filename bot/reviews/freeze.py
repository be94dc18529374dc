"""Freezing a month (PRODUCT.md §4.12): at the first sweep of a new month, in the workspace's timezone, every
client's review of the month just ended is computed and stored, so a past review shows what it showed then.

Like planning, it works a page of clients at a time (bot/nudges/planner.py opens the transactions): each page's
figures are worked out while only reading, then stored in a short write transaction of their own. Memory holds
one page; a pass stopped part-way carries on from the last client frozen (`ReviewFreeze.after_client_id`); a
month already stored for a client is never rewritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.reviews.figures import VERSION, Rules, compute
from bot.reviews.months import last_full_key, month_of, shift
from storage.models import ReviewFreeze
from storage.reviews import frozen_of, reviewable_clients, save_frozen

PAGE = 250


def month_to_freeze(state: ReviewFreeze | None, now: datetime, rules: Rules) -> str | None:
    """The month this workspace still has to freeze, if any: the last full one, unless it is done."""
    key = last_full_key(now, rules.tz)
    if state is not None and state.month == key and state.done_at is not None:
        return None
    return key


@dataclass(frozen=True)
class Page:
    """A page of frozen figures worked out while only reading, to store in a short write transaction."""

    after: int  # the client id it started after
    last: int | None  # the last client id in it; None: every client is done
    rows: list[dict[str, object]] = field(default_factory=list)


def prepare_page(session: Session, workspace_id: int, key: str, now: datetime, rules: Rules, page: int = PAGE
                 ) -> Page:
    """The next page of the workspace's clients for month `key`, worked out (reading only: no write lock is held
    while the figures are computed)."""
    state = session.get(ReviewFreeze, workspace_id)
    after = state.after_client_id if state is not None and state.month == key else 0
    month = month_of(key, rules.tz)
    clients = reviewable_clients(session, workspace_id, after, page, month.start, month.end)
    if not clients:
        return Page(after, None)
    earlier = frozen_of(session, [c.id for c in clients], shift(key, -1))
    figures = compute(session, clients, key, month.end, rules,
                      {client_id: json.loads(row.figures) for client_id, row in earlier.items()})
    return Page(after, clients[-1].id, [
        {"workspace_id": workspace_id, "client_id": client.id, "month": key, "frozen_at": now, "version": VERSION,
         "figures": json.dumps(figures[client.id], separators=(",", ":"))} for client in clients])


def store_page(session: Session, workspace_id: int, key: str, page: Page, now: datetime) -> bool:
    """Store a prepared page and move the workspace's progress on; False once the month is done (the caller then
    plans the owners' messages). The caller commits."""
    state = session.get(ReviewFreeze, workspace_id, with_for_update=True)
    if state is None:
        state = ReviewFreeze(workspace_id=workspace_id, month=key, after_client_id=0)
        session.add(state)
    elif state.month != key:
        state.month, state.after_client_id, state.done_at = key, 0, None
    if state.done_at is not None:
        return False
    if state.after_client_id != page.after:
        return True  # another pass moved on meanwhile: prepare again from where it got
    if page.last is None:
        state.done_at = now
        return False
    save_frozen(session, page.rows)
    state.after_client_id = page.last
    return True
