"""Buttons on Rapport's replies: Mark thanked on the referral prompt, and the forget confirmation."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.commands import run_button, run_closeout_tick
from bot.slack import blocks as b
from bot.slack.people import Directory
from handlers.payload import BadPayloadError, caller_or_none


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadPayloadError("no action")
    action = actions[0]
    return str(action.get("action_id", "")), str(action.get("value", ""))


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock) -> None:
    @app.action("referral_thanked")
    @app.action("forget_confirm")
    @app.action("heads_up_given")
    def on_button(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory)
        if caller is None:
            return
        try:
            action_id, value = _clicked(body)
        except BadPayloadError:
            return
        reply = run_button(session_factory, caller, action_id, value, clock())
        # A refusal leaves the buttons in place; anything done replaces them so a second click can't act.
        respond(replace_original=reply.ok, text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    @app.action("closeout_tick")
    def on_tick(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory)
        if caller is None:
            return
        try:
            _, value = _clicked(body)
        except BadPayloadError:
            return
        reply = run_closeout_tick(session_factory, caller, value, clock())
        respond(replace_original=reply.ok, text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    @app.action("forget_cancel")
    def on_cancel(ack: Ack, respond: Respond) -> None:
        ack()
        done = b.reply("Cancelled: nothing was forgotten.", b.paragraph("Cancelled: nothing was forgotten."))
        respond(replace_original=True, text=done.text, blocks=done.blocks, response_type="ephemeral")
