"""App Home: the tab itself and what its buttons do, each in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.home.pace import pace_modal, resume_pace, save_pace
from bot.home.tab import card_modal, home, not_relevant_from_home, settle_from_home, snooze_from_home
from bot.nudges.cards import message_updates
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Caller, context_for
from bot.slack.message_updates import MessageUpdate
from storage.clients import get_client


def home_view(session_factory: sessionmaker[Session], caller: Caller, now: datetime, settings: Settings,
              page: int = 1, attention_page: int = 1, notice: b.Reply | None = None) -> dict[str, Any]:
    with session_factory.begin() as session:
        return home(session, context_for(session, caller, now), settings, page, attention_page, notice)


def home_not_relevant(session_factory: sessionmaker[Session], caller: Caller, value: str,
                      now: datetime) -> b.Reply | None:
    """None when done; else what to tell the clicker (someone dealt with it first)."""
    with session_factory.begin() as session:
        return not_relevant_from_home(session, context_for(session, caller, now), value)


def home_settle(session_factory: sessionmaker[Session], caller: Caller, value: str,
                now: datetime) -> tuple[list[MessageUpdate], b.Reply | None]:
    """Kept or Resolved on the Home tab: the card messages to bring up to date, and what to tell the clicker
    when someone settled it first."""
    with session_factory.begin() as session:
        ctx = context_for(session, caller, now)
        notice = settle_from_home(session, ctx, value)
        return message_updates(session, ctx.workspace_id, ctx.settings.tz), notice


def home_snooze(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> None:
    with session_factory.begin() as session:
        snooze_from_home(session, context_for(session, caller, now), value)


def home_card(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> dict[str, Any]:
    with session_factory.begin() as session:
        return card_modal(session, context_for(session, caller, now), value)


def client_for_form(session_factory: sessionmaker[Session], caller: Caller, value: str,
                    now: datetime) -> tuple[int, str] | None:
    """The client a Home-tab "Log a touch" button names, if it still exists in the caller's workspace."""
    if not value.isdigit() or len(value) > 18:
        return None
    with session_factory.begin() as session:
        ctx = context_for(session, caller, now)
        client = get_client(session, ctx.workspace_id, int(value))
        return (client.id, client.name) if client else None


def pace_view(session_factory: sessionmaker[Session], caller: Caller, now: datetime,
              settings: Settings) -> dict[str, Any]:
    """*Change pace*: the modal, filled in with the person's pace as it is."""
    with session_factory.begin() as session:
        return pace_modal(session, context_for(session, caller, now), settings)


def pace_saved(session_factory: sessionmaker[Session], caller: Caller, values: dict[str, Any], now: datetime,
               settings: Settings) -> dict[str, str]:
    """The modal submitted: errors by field, nothing saved; or none, and the pace saved."""
    with session_factory.begin() as session:
        return save_pace(session, context_for(session, caller, now), settings, values)


def pace_resumed(session_factory: sessionmaker[Session], caller: Caller, now: datetime) -> None:
    with session_factory.begin() as session:
        resume_pace(session, context_for(session, caller, now))
