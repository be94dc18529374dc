"""The buttons on posted nudge cards and the digest's client menu: what a click does, in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.buttons.clicks import ClickResult, click, open_client
from bot.slack import blocks as b
from bot.slack.caller import Caller, CommandError, context_for


def run_click(session_factory: sessionmaker[Session], caller: Caller, action: str, value: str,
              now: datetime) -> ClickResult:
    try:
        with session_factory.begin() as session:
            return click(session, context_for(session, caller, now), action, value)
    except CommandError as exc:
        return ClickResult(ephemeral=b.error(exc.message))


def digest_card(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> b.Reply:
    with session_factory.begin() as session:
        return open_client(session, context_for(session, caller, now), value)
