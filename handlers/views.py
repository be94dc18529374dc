"""The "Log a touch" modal: its client typeahead and its submission."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.home import home_view
from bot.log_form import client_choices, contact_choices, run_log_form
from bot.log_form.form import CALLBACK, opened_from_home
from bot.settings import Settings
from bot.slack.message_updates import rewrite
from bot.slack.people import Directory
from handlers.payload import BadPayloadError, caller_from

log = logging.getLogger(__name__)


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             settings: Settings) -> None:
    @app.options("client")
    def client_typeahead(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            caller = caller_from(body, client, directory, settings)
        except BadPayloadError:
            ack(options=[])
            return
        query = body.get("value")
        ack(options=client_choices(session_factory, caller, query if isinstance(query, str) else "", clock()))

    @app.options("with")
    def contact_typeahead(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            caller = caller_from(body, client, directory, settings)
        except BadPayloadError:
            ack(options=[])
            return
        query = body.get("value")
        ack(options=contact_choices(session_factory, caller, body.get("view"), query if isinstance(query, str) else "",
                                    clock()))

    @app.view(CALLBACK)
    def log_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        try:
            caller = caller_from(body, client, directory, settings)
        except BadPayloadError:
            ack(response_action="errors", errors={"client": "That request from Slack was incomplete."})
            return
        values = (view.get("state") or {}).get("values") or {}
        errors, updates = run_log_form(session_factory, caller, values, str(view.get("private_metadata") or ""),
                                      clock())
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if opened_from_home(str(view.get("private_metadata") or "")):
            try:
                client.views_publish(user_id=caller.user_id, view=home_view(session_factory, caller, clock(), settings))
            except SlackApiError as exc:  # the touch is logged; the Home tab refreshes when next opened
                log.warning("could not republish the App Home: %s", exc)
        rewrite(client, updates)
