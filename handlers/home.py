"""App Home: the user's own clients, longest silence first, and how to start."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.commands import home_view
from bot.people import Directory
from handlers.payload import BadPayloadError, caller_from


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock) -> None:
    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        try:
            caller = caller_from({"team_id": body.get("team_id"), "user_id": event.get("user")}, client, directory)
        except BadPayloadError:
            return
        client.views_publish(user_id=caller.user_id, view=home_view(session_factory, caller, clock()))
