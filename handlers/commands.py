"""The /client slash command.

It acknowledges before doing anything and answers through `response_url`, with the work handed to the
app's own worker pool: Bolt's listener threads are then free to acknowledge the next request at once, so
Slack's 3-second deadline never depends on how long a write waits for the database (PRODUCT.md §7,
measured in bench/ack_latency.py).
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.commands import run_client_command, wants_log_form
from bot.log_form import log_form_for
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Caller
from bot.slack.message_updates import rewrite
from bot.slack.people import Directory
from handlers.errors import apologise
from handlers.payload import BadPayloadError, caller_from

log = logging.getLogger(__name__)


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             workers: Executor, update_every: int = Settings.update_every, settings: Settings | None = None,
             posting: Executor | None = None) -> None:
    """`posting`: where an answer worked out is sent to Slack (its response_url, and the messages it rewrites),
    so the answer thread goes on to the next command instead of waiting on Slack's reply; None: by the answer
    thread itself."""
    def post(reply: b.Reply, client: WebClient, respond: Respond) -> None:
        try:
            respond(**reply.as_message())
            rewrite(client, reply.updates)
        except Exception as exc:  # outside Bolt's listener, so its error handler would never see it
            apologise(log, exc, respond)

    def answer(caller: Caller, text: str, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        try:
            now = clock()
            if wants_log_form(text) and body.get("trigger_id"):
                client.views_open(trigger_id=body["trigger_id"], view=log_form_for(caller, now))
                return
            reply = run_client_command(session_factory, caller, text, now)
        except Exception as exc:  # outside Bolt's listener, so its error handler would never see it
            apologise(log, exc, respond)
            return
        if posting is None:
            post(reply, client, respond)
        else:
            posting.submit(post, reply, client, respond)

    @app.command("/client")
    def client_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        try:
            caller = replace(caller_from(body, client, directory), update_every=update_every,
                             settings=settings or Settings())
        except BadPayloadError:
            ack(**b.error("That request from Slack was incomplete, so nothing was done.").as_message())
            return
        if not isinstance(body.get("response_url"), str):
            ack(**b.error("That request from Slack had nowhere to send the answer, so nothing was done.").as_message())
            return
        ack()
        text = body.get("text")
        workers.submit(answer, caller, text if isinstance(text, str) else "", body, client, respond)
