"""The owner's buttons on a review (PRODUCT.md §4.12): *Open* shows it; *Share with the client* posts it, worded for
them, in the client's linked Slack Connect channel with a chart of the last six months. Only the client's owner or
a workspace admin may share, and only into a channel shared with the client's organisation; a refusal says why.

Slack is called outside any transaction: the review is read and marked shared in one (so of two clicks at once
only one posts), then posted; a post that fails gives the mark back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.reviews.chart import MonthPoint, six_month_chart
from bot.reviews.render import client_blocks, review_blocks
from bot.reviews.view import MonthError, pick_month, review_of, review_rules
from bot.slack import blocks as b
from bot.slack.caller import Caller, Context, context_for
from bot.slack.files import upload_png
from storage.capture import links_of
from storage.queries import get_client
from storage.reviews import claim_share, release_share

log = logging.getLogger(__name__)
VALUE = re.compile(r"^(\d{1,18}):(\d{4}-\d{2})$")
STALE = "That button is out of date. Use /client review <client> [YYYY-MM] instead."


@dataclass(frozen=True)
class Sharing:
    """What to post where, decided in a transaction; or the refusal to show instead."""

    refusal: b.Reply | None = None
    channel: str = ""
    client_name: str = ""
    month: str = ""
    figures: dict[str, Any] | None = None




def _parse(value: str) -> tuple[int, str] | None:
    match = VALUE.match(value)
    return (int(match[1]), match[2]) if match else None


def open_review(sessions: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> b.Reply:
    parsed = _parse(value)
    if parsed is None:
        return b.error(STALE)
    with sessions() as session:
        ctx = context_for(session, caller, now)
        client = get_client(session, ctx.workspace_id, parsed[0])
        if client is None:
            return b.error("That client is no longer tracked, so there is no review to show.")
        rules = review_rules(session, ctx)
        try:
            key = pick_month(parsed[1], now, rules)
        except MonthError:
            return b.error(STALE)
        review = review_of(session, client, key, now, rules)
        session.rollback()  # opening a review writes nothing (a first request may have made the workspace)
    return review_blocks(review.figures, frozen_at=review.frozen_at)


def _decide(session: Session, ctx: Context, client_id: int, month: str) -> Sharing:
    client = get_client(session, ctx.workspace_id, client_id)
    if client is None:
        return Sharing(b.error("That client is no longer tracked, so there is no review to share."))
    if ctx.user_id != client.owner_id and not ctx.is_admin():
        return Sharing(b.error(f"Only {client.name}'s owner or a workspace admin can share its review with them."))
    links = links_of(session, client.id)
    if not links:
        return Sharing(b.error(f"No channel is linked to {client.name}, so there is nowhere to share the review. "
                               "Link the Slack Connect channel you share with them first.",
                               f"/client link {client.name} #channel"))
    shared = [link for link in links if link.shared]
    if not shared:
        return Sharing(b.error(f"The channels linked to {client.name} are not shared with their organisation (no "
                               "one from their side is in them), so the review stays with you. Link the Slack "
                               "Connect channel you share with them.", f"/client link {client.name} #channel"))
    rules = review_rules(session, ctx)
    try:
        key = pick_month(month, ctx.now, rules)
    except MonthError:
        return Sharing(b.error(STALE))
    review = review_of(session, client, key, ctx.now, rules)
    return Sharing(channel=shared[0].channel_id, client_name=client.name, month=key, figures=review.figures)


def chart_points(figures: dict[str, Any]) -> list[MonthPoint]:
    labels = {m["month"]: m["label"] for m in figures["health"]["months"]}
    return [MonthPoint(m["month"], m["in"], m["out"], labels.get(m["month"]))
            for m in figures["contact"]["by_month"]]


def share_review(sessions: sessionmaker[Session], caller: Caller, value: str, now: datetime,
                 slack: WebClient) -> b.Reply:
    parsed = _parse(value)
    if parsed is None:
        return b.error(STALE)
    with sessions.begin() as session:
        ctx = context_for(session, caller, now)
        sharing = _decide(session, ctx, *parsed)
        if sharing.refusal is None:
            earlier = claim_share(session, parsed[0], sharing.month, caller.user_id, now)
            if earlier is not None and earlier.shared_at is not None:
                sharing = Sharing(b.reply(f"{sharing.client_name}'s review was already shared.", b.paragraph(
                    "Already shared by ", b.user(earlier.shared_by or ""), " ", b.date(earlier.shared_at), ".")))
    if sharing.refusal is not None:
        return sharing.refusal
    assert sharing.figures is not None
    text, blocks = client_blocks(sharing.figures)
    try:
        posted = slack.chat_postMessage(channel=sharing.channel, text=text, blocks=blocks)
        slug = re.sub(r"[^a-z0-9]+", "-", sharing.client_name.lower()).strip("-") or "client"
        upload_png(slack, channel=sharing.channel, filename=f"rapport-review-{slug}-{sharing.month}.png",
                   title=f"The last six months with {sharing.client_name}", png=six_month_chart(
                       chart_points(sharing.figures)), thread_ts=str(posted.get("ts") or "") or None)
    except SlackApiError as exc:
        _release(sessions, parsed[0], sharing.month, caller.user_id, now)
        reason = str(exc.response.get("error", "an error"))
        return b.error(f"Slack refused to post the review in that channel ({reason}); nothing was shared.")
    except (SlackClientError, OSError):
        _release(sessions, parsed[0], sharing.month, caller.user_id, now)
        log.warning("sharing a review failed on the way to Slack", exc_info=True)
        return b.error("Slack could not be reached, so the review was not shared. Try again in a moment.")
    return b.reply(f"Shared {sharing.client_name}'s review with them.", b.paragraph(
        b.emoji("white_check_mark"), " Shared ", b.text(sharing.client_name, bold=True), "'s review of ",
        datetime.strptime(sharing.month, "%Y-%m").strftime("%B %Y"), " in ", b.channel(sharing.channel),
        ", with the chart of the last six months."))


def _release(sessions: sessionmaker[Session], client_id: int, month: str, user_id: str, at: datetime) -> None:
    with sessions.begin() as session:
        release_share(session, client_id, month, user_id, at)
