"""Buttons on posted nudges (Log a touch, Record check-in and the like, Snooze, View client, Mark not relevant) and the
digest's View a client menu."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.buttons import digest_card, run_click
from bot.clock import Clock
from bot.log_form import log_form_for
from bot.settings import Settings
from bot.slack.message_updates import rewrite
from bot.slack.people import Directory
from handlers.payload import caller_or_none

log = logging.getLogger(__name__)
ACTIONS = ("nudge_log", "nudge_snooze", "nudge_done", "nudge_not_relevant", "nudge_open")
# a card's buttons that do what its reasons ask: Record check-in (nudge_done_checkin), Mark thanked, …; the bare
# nudge_done is an older message's Done
DONE_ACTIONS = re.compile(r"^nudge_done(?:_[a-z_]{1,20})?$")
GOAL_ACTIONS = re.compile(r"^goal_(?:confidence_(?:10|[1-9])|met|missed)$")  # a goal card's one-click answers


def _value(action: dict[str, Any]) -> str:
    selected = action.get("selected_option")
    return str(selected.get("value") if isinstance(selected, dict) else action.get("value", ""))


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             settings: Settings | None = None) -> None:
    @app.action({"action_id": "nudge_log"})
    @app.action({"action_id": "nudge_snooze"})
    @app.action({"action_id": DONE_ACTIONS})
    @app.action({"action_id": "nudge_not_relevant"})
    @app.action({"action_id": "nudge_open"})
    @app.action({"action_id": GOAL_ACTIONS})
    def on_nudge_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                       respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory, settings)
        if caller is None:
            return
        now = clock()
        result = run_click(session_factory, caller, str(action.get("action_id")), _value(action), now)
        if result.log_form_for is not None:
            client_id, name, nudge_id = result.log_form_for
            client.views_open(trigger_id=body.get("trigger_id"),
                              view=log_form_for(caller, now, (client_id, name), nudge_id))
        rewrite(client, result.updates)
        if result.ephemeral is not None:
            respond(response_type="ephemeral", replace_original=False, text=result.ephemeral.text,
                    blocks=result.ephemeral.blocks)

    @app.action("digest_open")
    def on_digest_open(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                       respond: Respond) -> None:
        ack()
        caller = caller_or_none(body, client, directory, settings)
        if caller is None:
            return
        card = digest_card(session_factory, caller, _value(action), clock())
        respond(response_type="ephemeral", replace_original=False, text=card.text, blocks=card.blocks)
