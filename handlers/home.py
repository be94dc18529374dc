"""App Home: published when the tab opens, and again after anything done from it."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.home import (
    client_for_form,
    home_card,
    home_not_relevant,
    home_settle,
    home_snooze,
    home_view,
    pace_resumed,
    pace_saved,
    pace_view,
)
from bot.home.pace import CALLBACK as PACE_FORM
from bot.log_form import log_form_for
from bot.settings import Settings
from bot.slack.message_updates import rewrite
from bot.slack.people import Directory
from handlers.payload import caller_or_none


def _pages(body: dict[str, Any]) -> dict[str, int]:
    """Which page of each list the Home tab showed (kept in its private metadata)."""
    view = raw if isinstance(raw := body.get("view"), dict) else {}
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        meta = {}
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if k in ("page", "attention") and isinstance(v, int) and 0 < v < 10**5}


def _number(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 6 else 1


def register(app: App, session_factory: sessionmaker[Session], directory: Directory, clock: Clock,
             settings: Settings) -> None:
    def publish(client: WebClient, caller: Any, page: int = 1, attention: int = 1, notice: Any = None) -> None:
        client.views_publish(user_id=caller.user_id,
                             view=home_view(session_factory, caller, clock(), settings, page, attention, notice))

    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        caller = caller_or_none({"team_id": body.get("team_id"), "user_id": event.get("user")}, client, directory,
                                settings)
        if caller is None:
            return
        publish(client, caller)

    @app.action("home_log")
    @app.action("home_open")
    @app.action("home_snooze")
    @app.action("home_page")
    @app.action("home_attention_page")
    @app.action("home_not_relevant")
    @app.action("home_kept")
    @app.action("home_resolved")
    @app.action("home_pace")
    @app.action("home_resume")
    def home_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        caller = caller_or_none(body, client, directory, settings)
        if caller is None:
            return
        selected = action.get("selected_option")
        value = str(selected.get("value") if isinstance(selected, dict) else action.get("value", ""))
        kind, now = action.get("action_id"), clock()
        if kind == "home_log":
            chosen = client_for_form(session_factory, caller, value, now)
            client.views_open(trigger_id=body.get("trigger_id"), view=log_form_for(caller, now, chosen,
                                                                                    from_home=True))
        elif kind == "home_open":
            client.views_open(trigger_id=body.get("trigger_id"), view=home_card(session_factory, caller, value, now))
        elif kind == "home_snooze":
            home_snooze(session_factory, caller, value, now)
            publish(client, caller, **_pages(body))
        elif kind == "home_not_relevant":
            notice = home_not_relevant(session_factory, caller, value, now)
            publish(client, caller, **_pages(body), notice=notice)
        elif kind in ("home_kept", "home_resolved"):
            updates, notice = home_settle(session_factory, caller, value, now)
            publish(client, caller, **_pages(body), notice=notice)
            rewrite(client, updates)
        elif kind == "home_pace":
            client.views_open(trigger_id=body.get("trigger_id"), view=pace_view(session_factory, caller, now, settings))
        elif kind == "home_resume":
            pace_resumed(session_factory, caller, now)
            publish(client, caller, **_pages(body))
        elif kind == "home_attention_page":
            publish(client, caller, _pages(body).get("page", 1), _number(value))
        else:
            publish(client, caller, _number(value), _pages(body).get("attention", 1))

    @app.view(PACE_FORM)
    def pace_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        caller = caller_or_none(body, client, directory, settings)
        if caller is None:
            ack(response_action="errors", errors={"cards": "That request from Slack was incomplete."})
            return
        values = (view.get("state") or {}).get("values") or {}
        errors = pace_saved(session_factory, caller, values if isinstance(values, dict) else {}, clock(), settings)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        publish(client, caller)
