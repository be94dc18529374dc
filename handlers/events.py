"""Message events from linked channels (PRODUCT.md §4.9), and Slack Connect being switched on or off.

Bolt acknowledges an event before its listener runs, so nothing here (a users.info look-up, a permalink)
ever holds up the acknowledgement.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.events import read_event
from bot.capture.touches import capture, channel_sharing, remember_permalink
from bot.clock import Clock
from bot.slack.people import Directory
from handlers.messages import rewrite

log = logging.getLogger(__name__)


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             workers: Executor) -> None:
    @app.event("message")
    def on_message(body: dict[str, Any], client: WebClient) -> None:
        # one at a time on capture's own worker: a burst of messages never crowds the threads that acknowledge
        workers.submit(record, body, client)

    def record(body: dict[str, Any], client: WebClient) -> None:
        try:
            handle(body, client)
        except Exception:  # outside Bolt's listener, so its error handler would never see it
            log.exception("a message event could not be recorded")

    def handle(body: dict[str, Any], client: WebClient) -> None:
        message = read_event(body)
        if message is None:
            return
        author_team = message.user_team
        if author_team is None and message.is_person and message.user:
            author_team = directory.person(client, message.team_id, message.user).team_id
        result = capture(session_factory, message, author_team, clock())
        if result.link_needed:
            try:
                link = client.chat_getPermalink(channel=message.channel, message_ts=message.ts).get("permalink")
            except (SlackApiError, SlackClientError, OSError) as exc:  # the touch stands; only its link is missing
                log.warning("no permalink for %s/%s: %s", message.channel, message.ts, exc)
                link = None
            if isinstance(link, str) and link.startswith("https://"):
                remember_permalink(session_factory, message.channel, message.ts, link)
        rewrite(client, result.updates)

    @app.event("channel_shared")
    @app.event("channel_unshared")
    def on_sharing(event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if not isinstance(channel, str) or not channel:
            return
        shared = event.get("type") == "channel_shared" or event.get("is_ext_shared") is True
        channel_sharing(session_factory, channel, shared)
