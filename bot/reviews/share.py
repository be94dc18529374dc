"""The owner's buttons on a review (PRODUCT.md §4.12): *Open* shows it; *Share with the client* posts it, worded for
them, in the client's linked Slack Connect channel with a chart of the last six months. Only the client's owner or
a workspace admin may share, only a month that is over (frozen), and only into a channel shared with the client's
organisation; a refusal says why.

Sharing is once and whole. The month is claimed under the client's lock, so of two clicks at once only one posts;
Slack is called after that transaction, outside any: the chart's bytes go to Slack first (so a missing `files:write`
is known before anything is posted), then the message, then the chart into its thread, and what arrived is written
down. A message Slack refused gives the claim back: nothing was shared. A message whose chart did not arrive stays
shared and the next click adds the chart. A post whose outcome Slack never told (a timeout, a 5xx, a process that
died) is looked for in the channel, by its message metadata, before it is ever posted again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.reviews.chart import MonthPoint, six_month_chart
from bot.reviews.render import client_blocks, review_blocks
from bot.reviews.view import MonthError, pick_month, review_of, review_rules
from bot.slack import blocks as b
from bot.slack.caller import Caller, Context, context_for, owner_or_admin
from bot.slack.files import Upload, share_upload, upload_file
from storage.capture import links_of
from storage.clients import get_client, lock_client
from storage.reviews import ShareStep, claim_share, posted_share, release_chart, release_share

log = logging.getLogger(__name__)
VALUE = re.compile(r"^(\d{1,18}):(\d{4}-\d{2})$")
STALE = "That button is out of date. Use /client review <client> [YYYY-MM] instead."
IN_FLIGHT = timedelta(minutes=2)  # a post claimed this recently is still on its way (each Slack call gives up in 10 s)
EVENT_TYPE = "rapport_review"  # the metadata a shared review carries, to find it again in the channel
HISTORY_PAGES = 5


class OutcomeUnknownError(Exception):
    """Slack may or may not have posted the message: the claim stays, and the next click looks first."""


@dataclass(frozen=True)
class Sharing:
    """What to do, decided and claimed in a transaction; or the answer to give instead."""

    refusal: b.Reply | None = None
    client_id: int = 0
    client_name: str = ""
    month: str = ""
    figures: dict[str, Any] | None = None
    step: str = ""  # ShareStep.step: 'post', 'look' or 'chart'
    channel: str = ""
    ts: str | None = None  # the message's, when it is known to be there ('chart')
    claimed_at: datetime | None = None  # this click's claim: of the post, or of the chart
    user_id: str = ""  # who clicked
    since: datetime | None = None  # 'look': when the earlier post was tried


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


def _title(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def _decide(session: Session, ctx: Context, client_id: int, month: str) -> Sharing:
    client = lock_client(session, ctx.workspace_id, client_id)  # clicks on one client are serialised (§5)
    if client is None:
        return Sharing(b.error("That client is no longer tracked, so there is no review to share."))
    if not owner_or_admin(ctx, client):
        return Sharing(b.error(f"Only {client.name}'s owner or a workspace admin can share its review with them."))
    rules = review_rules(session, ctx)
    try:
        key = pick_month(month, ctx.now, rules)
    except MonthError:
        return Sharing(b.error(STALE))
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
    step = claim_share(session, client.id, key, ctx.user_id, shared[0].channel_id, ctx.now, IN_FLIGHT)
    if step is None:
        return Sharing(b.error(f"{client.name}'s review of {_title(key)} is not finished yet: a month is shared once "
                               "it has ended and its figures are frozen (the first morning of the next month). Until "
                               f"then it can be read with /client review {client.name} {key}."))
    return _answer(client.id, client.name, key, step, ctx.user_id)


def _answer(client_id: int, name: str, key: str, step: ShareStep, user_id: str) -> Sharing:
    row = step.month
    if step.step == "done":
        return Sharing(b.reply(f"{name}'s review was already shared.", b.paragraph(
            "Already shared by ", b.user(row.shared_by or ""), " ", b.date(row.shared_at or row.frozen_at),
            ", with its chart, in ", b.channel(row.shared_channel or ""), ".")))
    if step.step == "busy":
        return Sharing(b.reply(f"{name}'s review is being shared right now.", b.paragraph(
            "Already being shared by ", b.user(row.shared_by or ""), ", a moment ago: ", b.text(name, bold=True),
            "'s review of ", _title(key), " will be in ", b.channel(row.shared_channel or ""), " shortly. If it is "
            "not there in a couple of minutes, click Share again: it is never posted twice.")))
    claimed = row.chart_at if step.step == "chart" else row.shared_at
    return Sharing(client_id=client_id, client_name=name, month=key, figures=json.loads(row.figures),
                   step=step.step, channel=row.shared_channel or "", ts=row.shared_ts, claimed_at=claimed,
                   user_id=user_id, since=step.since)


def chart_points(figures: dict[str, Any]) -> list[MonthPoint]:
    """The chart's months: touches each way. Never our health label: the chart goes to the client."""
    return [MonthPoint(m["month"], m["in"], m["out"]) for m in figures["contact"]["by_month"]]


def share_review(sessions: sessionmaker[Session], caller: Caller, value: str, now: datetime,
                 slack: WebClient) -> b.Reply:
    parsed = _parse(value)
    if parsed is None:
        return b.error(STALE)
    with sessions.begin() as session:
        sharing = _decide(session, context_for(session, caller, now), *parsed)
    if sharing.refusal is not None:
        return sharing.refusal
    assert sharing.figures is not None and sharing.claimed_at is not None
    slug = re.sub(r"[^a-z0-9]+", "-", sharing.client_name.lower()).strip("-") or "client"
    chart = (f"rapport-review-{slug}-{sharing.month}.png", f"The last six months with {sharing.client_name}",
             six_month_chart(chart_points(sharing.figures)))
    if sharing.step == "chart":
        return _add_chart(sessions, slack, sharing, chart)
    return _post(sessions, slack, sharing, chart, now)


def _post(sessions: sessionmaker[Session], slack: WebClient, sharing: Sharing, chart: tuple[str, str, bytes],
          now: datetime) -> b.Reply:
    """The message and its chart, claimed by this click ('post'), or again after an outcome never told ('look')."""
    assert sharing.claimed_at is not None
    claimed = sharing.claimed_at
    where, name, title = sharing.channel, sharing.client_name, _title(sharing.month)
    unknown = (f"Slack did not say whether {name}'s review reached <#{where}>. Click Share again in a couple of "
               "minutes: Rapport looks in the channel first, so the review is never posted twice.")
    if sharing.step == "look":
        try:
            found = _already_there(slack, sharing)
        except OutcomeUnknownError:
            log.warning("sharing a review: the channel's history could not be read", exc_info=True)
            return b.error(unknown)
        if found is not None:  # the earlier try did post it: only its chart may be missing
            with sessions.begin() as session:
                posted_share(session, sharing.client_id, sharing.month, sharing.claimed_at, where, found, now)
            return _add_chart(sessions, slack, replace(sharing, ts=found, claimed_at=now), chart)
    try:
        upload = _upload(slack, chart)  # first: a missing files:write is known before anything is posted
        ts = _post_message(slack, sharing)
    except OutcomeUnknownError:
        log.warning("sharing a review: Slack did not say whether the message was posted", exc_info=True)
        return b.error(unknown)
    except SlackApiError as exc:
        _release(sessions, lambda s: release_share(s, sharing.client_id, sharing.month, sharing.user_id,
                                                   claimed))
        what = "the chart" if exc.response.get("error") == "missing_scope" else f"{name}'s review"
        return b.error(f"{_refused(exc, what)} Nothing was shared.")
    except (SlackClientError, OSError):
        _release(sessions, lambda s: release_share(s, sharing.client_id, sharing.month, sharing.user_id,
                                                   claimed))
        log.warning("sharing a review failed on the way to Slack", exc_info=True)
        return b.error("Slack could not be reached, so the review was not shared. Try again in a moment.")
    missing = _share_chart(slack, upload, where, ts)
    with sessions.begin() as session:
        posted_share(session, sharing.client_id, sharing.month, sharing.claimed_at, where, ts,
                     None if missing else now)
    if missing:
        return b.error(f"{name}'s review of {title} is in <#{where}>, but its chart did not arrive. {missing} Click "
                       "Share again to add the chart: the review itself is not posted twice.")
    return b.reply(f"Shared {name}'s review with them.", b.paragraph(
        b.emoji("white_check_mark"), " Shared ", b.text(name, bold=True), "'s review of ", title, " in ",
        b.channel(where), ", with the chart of the last six months."))


def _add_chart(sessions: sessionmaker[Session], slack: WebClient, sharing: Sharing,
               chart: tuple[str, str, bytes]) -> b.Reply:
    """The message is there and its chart is not: add the chart to its thread, and nothing else."""
    assert sharing.ts is not None and sharing.claimed_at is not None
    name, where, claimed = sharing.client_name, sharing.channel, sharing.claimed_at
    try:
        missing = _share_chart(slack, _upload(slack, chart), where, sharing.ts)
    except (SlackClientError, OSError) as exc:
        missing = _refused(exc, "the chart") if isinstance(exc, SlackApiError) else "Slack could not be reached."
    if missing:
        _release(sessions, lambda s: release_chart(s, sharing.client_id, sharing.month, claimed))
        return b.error(f"{name}'s review is in <#{where}>, but its chart still did not arrive. {missing} Click "
                       "Share again to add it: the review itself is not posted twice.")
    return b.reply(f"Added the chart to {name}'s review.", b.paragraph(
        b.emoji("white_check_mark"), " Added the chart of the last six months to ", b.text(name, bold=True),
        "'s review of ", _title(sharing.month), ", already in ", b.channel(where), ": it is whole now."))


def _upload(slack: WebClient, chart: tuple[str, str, bytes]) -> Upload:
    filename, title, png = chart
    return upload_file(slack, filename=filename, title=title, data=png)


def _post_message(slack: WebClient, sharing: Sharing) -> str:
    assert sharing.figures is not None
    text, blocks = client_blocks(sharing.figures)
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"client_id": sharing.client_id, "month": sharing.month}}
    try:
        posted = slack.chat_postMessage(channel=sharing.channel, text=text, blocks=blocks, metadata=metadata,
                                        unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        if exc.response.status_code >= 500:
            raise OutcomeUnknownError from exc
        raise
    except (SlackClientError, OSError) as exc:
        raise OutcomeUnknownError from exc
    ts = posted.get("ts")
    if not isinstance(ts, str) or not ts:
        raise OutcomeUnknownError("chat.postMessage answered without a ts")
    return ts


def _share_chart(slack: WebClient, upload: Upload, channel: str, ts: str) -> str | None:
    """Share the uploaded chart in the message's thread; what went wrong, or None when it arrived."""
    try:
        share_upload(slack, upload, channel=channel, thread_ts=ts)
    except SlackApiError as exc:
        return _refused(exc, "the chart")
    except (SlackClientError, OSError):
        log.warning("sharing a review's chart failed on the way to Slack", exc_info=True)
        return "Slack could not be reached."
    return None


def _already_there(slack: WebClient, sharing: Sharing) -> str | None:
    """The ts of the review's message if an earlier try did post it (its metadata names the client and month)."""
    assert sharing.since is not None
    oldest = str((sharing.since - timedelta(minutes=1)).timestamp())
    cursor = None
    try:
        for _ in range(HISTORY_PAGES):
            reply = slack.conversations_history(channel=sharing.channel, oldest=oldest, limit=200,
                                                include_all_metadata=True, **({"cursor": cursor} if cursor else {}))
            for message in reply.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == EVENT_TYPE and payload.get("client_id") == sharing.client_id \
                        and payload.get("month") == sharing.month:
                    return str(message.get("ts"))
            cursor = (reply.get("response_metadata") or {}).get("next_cursor")
            if not reply.get("has_more") or not cursor:
                return None
    except (SlackClientError, OSError) as exc:
        raise OutcomeUnknownError from exc  # it cannot be told yet: the claim waits for the next click
    raise OutcomeUnknownError(f"more than {HISTORY_PAGES * 200} messages to look through")


def _refused(exc: SlackApiError, what: str) -> str:
    reason = str(exc.response.get("error", "an error"))
    if reason == "missing_scope":
        return (f"Slack refused {what}: Rapport may not upload files in this workspace yet (the files:write "
                "permission came after it was installed). Reinstall the app to grant it, then share again.")
    return f"Slack refused {what} ({reason})."


def _release(sessions: sessionmaker[Session], undo: Callable[[Session], None]) -> None:
    with sessions.begin() as session:
        undo(session)
