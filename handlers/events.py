"""Message events from linked channels (PRODUCT.md §4.9), and Slack Connect being switched on or off.

Bolt acknowledges an event before its listener runs, so nothing here (a users.info look-up, a permalink, asking
Slack which installations an event concerns) ever holds up the acknowledgement. Each workspace the event concerns
(bot/capture/tenants.py) gets its own touch, and its own permalink and card updates, fetched with its own token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.departures import record_departure
from bot.capture.events import read_event, read_installations
from bot.capture.tenants import Tenant, tenants_of
from bot.capture.touches import capture, channel_sharing, remember_permalink
from bot.clock import Clock
from bot.slack.authorizations import Lister
from bot.slack.message_updates import rewrite
from bot.slack.people import Directory
from bot.slack.text import payload_text

log = logging.getLogger(__name__)

TokenFor = Callable[[str | None, str], str | None]  # a workspace's bot token: (enterprise id or None, team id)


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             workers: Executor, lister: Lister | None, token_for: TokenFor) -> None:
    @app.event("message")
    def on_message(body: dict[str, Any], client: WebClient) -> None:
        # one at a time on capture's own worker: a burst of messages never crowds the threads that acknowledge
        workers.submit(record, body, client)

    def record(body: dict[str, Any], client: WebClient) -> None:
        try:
            handle(body, client)
        except Exception:  # outside Bolt's listener, so its error handler would never see it
            log.exception("a message event could not be recorded")

    def client_of(tenant: Tenant, delivered: WebClient) -> WebClient | None:
        """The delivered installation's client is Bolt's; another workspace's is made with its own token."""
        if tenant.delivered:
            return delivered
        token = token_for(tenant.enterprise_id or None, tenant.team_id)
        return WebClient(token=token, base_url=delivered.base_url, timeout=10) if token else None

    def handle(body: dict[str, Any], client: WebClient) -> None:
        message = read_event(body)
        if message is None:
            return
        tenants = tenants_of(session_factory, message.channel, message.installations, message.event_context,
                             lister, trust_links=True)
        if not tenants:
            return  # a channel no installed workspace linked
        author_team = message.user_team
        if author_team is None and message.is_person and message.user:
            author_team = directory.person(client, message.team_id, message.user).team_id
        for tenant in tenants:
            result = capture(session_factory, tenant, message, author_team, clock())
            own = client_of(tenant, client) if result.link_needed or result.updates else None
            if own is None:
                continue
            if result.link_needed:
                try:
                    link = own.chat_getPermalink(channel=message.channel, message_ts=message.ts).get("permalink")
                except (SlackApiError, SlackClientError, OSError) as exc:  # the touch stands; only its link is missing
                    log.warning("no permalink for %s/%s: %s", message.channel, message.ts, exc)
                    link = None
                if isinstance(link, str) and link.startswith("https://"):
                    remember_permalink(session_factory, tenant, message.channel, message.ts, link)
            rewrite(own, result.updates)

    @app.event("channel_shared")
    @app.event("channel_unshared")
    def on_sharing(body: dict[str, Any], event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if not isinstance(channel, str) or not 0 < len(channel) <= 64:
            return
        shared = event.get("type") == "channel_shared" or event.get("is_ext_shared") is True
        context = body.get("event_context") if isinstance(body.get("event_context"), str) else None
        # Whether a channel has members from elsewhere is each workspace's own view of it: only the workspaces
        # Slack says the event is for, never every one that linked the id (each message's envelope keeps it
        # current anyway).
        tenants = tenants_of(session_factory, channel, read_installations(body), context, lister, trust_links=False)
        channel_sharing(session_factory, tenants, channel, shared)

    @app.event("member_left_channel")
    def on_left(body: dict[str, Any], event: dict[str, Any]) -> None:
        # the client's advocate leaving a linked channel is a warning sign (PRODUCT.md §4.13)
        channel, user = payload_text(event.get("channel")), payload_text(event.get("user"))
        if channel is None or user is None:
            return
        context = payload_text(body.get("event_context"), 300)
        tenants = tenants_of(session_factory, channel, read_installations(body), context, lister, trust_links=True)
        if tenants:
            record_departure(session_factory, tenants, channel, user, clock())
