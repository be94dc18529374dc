"""The buttons of the owners' monthly message (PRODUCT.md §4.12): Open a review, Share it with the client."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.reviews.share import open_review, share_review
from bot.settings import Settings
from bot.slack.people import Directory
from handlers.payload import caller_or_none


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             settings: Settings) -> None:
    @app.action("review_open")
    @app.action("review_share")
    def on_review(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                  respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory)
        if caller is None:
            return
        caller = replace(caller, settings=settings)
        value, now = str(action.get("value", "")), clock()
        reply = open_review(session_factory, caller, value, now) if action.get("action_id") == "review_open" \
            else share_review(session_factory, caller, value, now, client)
        respond(response_type="ephemeral", replace_original=False, text=reply.text, blocks=reply.blocks)
