"""The message shortcut Log to Rapport (callback id log_message): the log form, prefilled from the message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.log_form import message_log_form
from bot.slack import blocks as b
from bot.slack.people import Directory
from handlers.payload import caller_or_none

CALLBACK = "log_message"


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock) -> None:
    @app.shortcut(CALLBACK)
    def log_message(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory)
        if caller is None:
            return
        view = message_log_form(session_factory, caller, body, clock())
        if view is None:
            if body.get("response_url"):
                done = b.error("That message could not be read, so there is nothing to log.")
                respond(response_type="ephemeral", text=done.text, blocks=done.blocks)
            return
        client.views_open(trigger_id=body.get("trigger_id"), view=view)
