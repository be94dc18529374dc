"""The log form: a modal to log a touch or a commitment, opened from `/client`, a card, App Home or the
message shortcut."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.log_form.form import client_options, log_form, submit
from bot.log_form.people import contact_options, selected_client_id
from bot.log_form.shortcut import message_form
from bot.slack.caller import Caller, context_for
from bot.slack.message_updates import MessageUpdate


def run_log_form(session_factory: sessionmaker[Session], caller: Caller, values: dict[str, Any],
                 private_metadata: str, now: datetime) -> tuple[dict[str, str], list[MessageUpdate]]:
    """The modal's submission: errors keep the form open and roll everything back."""
    session = session_factory()
    try:
        with session.begin():
            errors, updates = submit(session, context_for(session, caller, now), values, private_metadata)
            if errors:
                session.rollback()
                return errors, []
        return {}, updates
    finally:
        session.close()


def client_choices(session_factory: sessionmaker[Session], caller: Caller, query: str,
                   now: datetime) -> list[dict[str, Any]]:
    with session_factory.begin() as session:
        return client_options(session, context_for(session, caller, now), query)


def contact_choices(session_factory: sessionmaker[Session], caller: Caller, view: Any, query: str,
                    now: datetime) -> list[dict[str, Any]]:
    """The *With* picker's options: the people of the client picked so far."""
    with session_factory.begin() as session:
        return contact_options(session, context_for(session, caller, now), selected_client_id(view), query)


def log_form_for(caller: Caller, now: datetime, client: tuple[int, str] | None = None,
                 nudge_id: int | None = None, *, from_home: bool = False) -> dict[str, Any]:
    """The modal, with today's date as the user sees it."""
    return log_form(client, now.astimezone(caller.person().tz).date(), nudge_id, from_home)


def message_log_form(session_factory: sessionmaker[Session], caller: Caller, payload: dict[str, Any],
                     now: datetime) -> dict[str, Any] | None:
    """Log to Rapport on a message: the log form, prefilled from it (None: the payload names no message)."""
    with session_factory.begin() as session:
        return message_form(session, context_for(session, caller, now), payload, caller.team_id)
