"""`/client review <client> [YYYY-MM]` (PRODUCT.md §4.12): a client's month in six fixed sections."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.commands.common import find
from bot.commands.usage import USAGE
from bot.reviews.figures import Rules
from bot.reviews.render import review_blocks
from bot.reviews.view import MonthError, pick_month, review_of
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.workspaces import tz_of
from storage.queries import get_workspace


def review_rules(session: Session, ctx: Context) -> Rules:
    workspace = get_workspace(session, ctx.workspace_id)
    tz = tz_of(workspace, ctx.settings.tz) if workspace else ctx.settings.tz
    return Rules.of(ctx.settings, tz)


def cmd_review(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["review"]
    match = find(session, ctx, args, usage)
    rules = review_rules(session, ctx)
    try:
        key = pick_month(match.rest, ctx.now, rules)
    except MonthError as exc:
        raise CommandError(str(exc), usage) from None
    review = review_of(session, match.client, key, ctx.now, rules)
    return review_blocks(review.figures, frozen_at=review.frozen_at)
