"""The composition root: the one place the Bolt app is assembled from settings, storage and handlers."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utcnow
from bot.people import Directory, SlackDirectory
from bot.settings import Settings
from handlers import actions, commands, errors, home, nudges, views


def build_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    directory: Directory | None = None,
    clock: Clock = utcnow,
    verify_requests: bool = True,
    verify_token: bool = True,
    process_before_response: bool = False,
) -> App:
    """A Bolt app that talks to `settings.slack_api_url`.

    The offline shell turns request verification off because it builds its requests itself and has no
    signing secret, and processes before responding so a click's result is there when dispatch returns;
    everything served over HTTP keeps the defaults.
    """
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=verify_requests,
        token_verification_enabled=verify_token,
        process_before_response=process_before_response,
        logger=logging.getLogger("rapport.bolt"),
    )
    directory = directory or SlackDirectory(settings.tz)
    errors.register(app)
    commands.register(app, session_factory, directory, clock)
    actions.register(app, session_factory, directory, clock)
    home.register(app, session_factory, directory, clock)
    nudges.register(app, session_factory, directory, clock)
    views.register(app, session_factory, directory, clock)
    return app
