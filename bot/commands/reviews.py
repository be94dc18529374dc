"""`/client review <client> [YYYY-MM]` (PRODUCT.md §4.12): a client's month in six fixed sections."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.commands.common import find
from bot.commands.usage import USAGE
from bot.reviews.render import review_blocks
from bot.reviews.view import MonthError, pick_month, review_of, review_rules
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context


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
