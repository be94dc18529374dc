"""One client's review of one month: the frozen one when the month has been frozen, else worked out now (the
current month, 'so far'; or a month that ended before Rapport froze anything)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.reviews.figures import Rules, compute
from bot.reviews.months import MONTH, current_key, last_full_key, shift
from bot.slack.caller import Context
from bot.workspaces import tz_of
from storage.models import Client
from storage.reviews import frozen_review
from storage.workspaces import get_workspace


class MonthError(ValueError):
    """A month a review cannot be shown for; the message says why."""


@dataclass(frozen=True)
class Review:
    figures: dict[str, Any]
    frozen_at: datetime | None


def pick_month(text: str, now: datetime, rules: Rules) -> str:
    """'' (the last full month), or YYYY-MM up to the current month."""
    text = text.strip()
    if not text:
        return last_full_key(now, rules.tz)
    match = MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise MonthError(f"{text!r} is not a month; give one like {current_key(now, rules.tz)}.")
    if text > current_key(now, rules.tz):
        raise MonthError(f"{text} has not begun yet; the latest month is {current_key(now, rules.tz)} (so far).")
    return text


def review_of(session: Session, client: Client, key: str, now: datetime, rules: Rules) -> Review:
    frozen = frozen_review(session, client.id, key)
    if frozen is not None:
        return Review(json.loads(frozen.figures), frozen.frozen_at)
    before = frozen_review(session, client.id, shift(key, -1))  # the months before, as they were frozen
    previous = {client.id: json.loads(before.figures)} if before is not None else None
    return Review(compute(session, [client], key, now, rules, previous)[client.id], None)


def review_rules(session: Session, ctx: Context) -> Rules:
    """The rules a person's review is worked out by: the deployment's settings in the workspace's timezone."""
    workspace = get_workspace(session, ctx.workspace_id)
    tz = tz_of(workspace, ctx.settings.tz) if workspace else ctx.settings.tz
    return Rules.of(ctx.settings, tz)
