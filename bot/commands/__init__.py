"""`/client …`: one entry point that runs a subcommand in one transaction and always returns a Reply."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.shortcut import message_form
from bot.commands.commitments import cmd_issue, cmd_kept, cmd_promise, cmd_resolved
from bot.commands.context import CommandError, Context
from bot.commands.links import cmd_link, cmd_unlink
from bot.commands.manage import (
    cmd_add,
    cmd_channel,
    cmd_end,
    cmd_forget,
    cmd_optout,
    cmd_owner,
    cmd_reactivate,
    cmd_rename,
    cmd_snooze,
    cmd_timezone,
    cmd_value,
    forget_confirmed,
)
from bot.commands.touches import cmd_checkin, cmd_log, cmd_referral, cmd_thanked, thanked_from_button
from bot.commands.usage import USAGE
from bot.commands.views import cmd_help, cmd_list, cmd_status
from bot.nudges.actions import ClickResult, click, open_client
from bot.nudges.cards import UPDATES, MessageUpdate, message_updates
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.channels import ChannelInfo
from bot.slack.home import card_modal, home, not_relevant_from_home, settle_from_home, snooze_from_home
from bot.slack.log_form import client_options, log_form, submit
from bot.slack.people import Person
from storage.db import READ_ONLY
from storage.queries import find_workspace, get_client, get_or_create_workspace

log = logging.getLogger(__name__)

SUBCOMMANDS: dict[str, Callable[[Session, Context, str], b.Reply]] = {
    "help": cmd_help,
    "add": cmd_add,
    "log": cmd_log,
    "referral": cmd_referral,
    "refer": cmd_referral,
    "thanked": cmd_thanked,
    "checkin": cmd_checkin,
    "status": cmd_status,
    "list": cmd_list,
    "snooze": cmd_snooze,
    "end": cmd_end,
    "optout": cmd_optout,
    "reactivate": cmd_reactivate,
    "owner": cmd_owner,
    "channel": cmd_channel,
    "rename": cmd_rename,
    "forget": cmd_forget,
    "timezone": cmd_timezone,
    "value": cmd_value,
    "link": cmd_link,
    "unlink": cmd_unlink,
    "promise": cmd_promise,
    "kept": cmd_kept,
    "issue": cmd_issue,
    "resolved": cmd_resolved,
}

MAX_TEXT = 4000


def execute(session: Session, ctx: Context, text: str) -> b.Reply:
    """Run one `/client` line. Raises CommandError for a user mistake; the caller rolls back."""
    if len(text) > MAX_TEXT:
        raise CommandError(f"That's {len(text)} characters; a command can be at most {MAX_TEXT}.")
    words = text.strip().split(None, 1)
    if not words:
        return cmd_help(session, ctx, "")
    name, args = words[0].lower(), (words[1] if len(words) > 1 else "")
    handler = SUBCOMMANDS.get(name)
    if handler is None:
        close = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1)
        hint = f" Did you mean /client {close[0]}?" if close else ""
        raise CommandError(f"{words[0]!r} is not a /client command.{hint} See /client help.")
    return handler(session, ctx, args)


def run_in_transaction(
    session_factory: sessionmaker[Session], work: Callable[[Session], b.Reply]
) -> b.Reply:
    """One command, one transaction: a CommandError rolls everything back and becomes the reply."""
    try:
        with session_factory.begin() as session:
            return work(session)
    except CommandError as exc:
        return b.error(exc.message, exc.usage)
    except IntegrityError:
        # the database's constraints caught a change made at the same moment (the same new name, say)
        log.info("command lost a race on a unique constraint", exc_info=True)
        return b.error("Someone changed the same thing at the same moment, so nothing was saved. Try again.")


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from the verified Slack payload. `person` is looked up only if a command needs it."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    person: Callable[[], Person]
    channel: Callable[[str], ChannelInfo | None] = lambda _channel: None
    update_every: int = Settings.update_every


def _context(session: Session, caller: Caller, now: datetime) -> Context:
    workspace = get_or_create_workspace(session, caller.team_id, caller.enterprise_id, now)
    if workspace.uninstalled_at is not None:
        # Slack delivers a command only to an installed app: it was installed again (single-workspace mode has
        # no OAuth callback to say so), and nudges are planned and posted there again.
        workspace.uninstalled_at = None
        log.warning("workspace %s sent a command after an uninstall: Rapport is installed there again; "
                    "nudges resume", workspace.team_id)
    person = cache(caller.person)
    return Context(workspace_id=workspace.id, user_id=caller.user_id, now=now,
                   user_tz=lambda: person().tz, is_admin=lambda: person().is_admin, channel=caller.channel,
                   update_every=caller.update_every)


READ_ONLY_COMMANDS = frozenset({"help", "status", "list"})


def run_client_command(session_factory: sessionmaker[Session], caller: Caller, text: str, now: datetime) -> b.Reply:
    words = text.split(None, 1)
    if words and words[0].lower() in READ_ONLY_COMMANDS:
        reply = _read_only(session_factory, caller, text, now)
        if reply is not None:
            return reply
    return run_in_transaction(session_factory, lambda s: _execute(s, caller, now, text))


def _execute(session: Session, caller: Caller, now: datetime, text: str) -> b.Reply:
    ctx = _context(session, caller, now)
    reply = execute(session, ctx, text)
    if session.info.get(UPDATES):  # a touch closed cards: their messages are brought up to date after the commit
        reply = replace(reply, updates=tuple(message_updates(session, ctx.workspace_id)))
    return reply


def _read_only(session_factory: sessionmaker[Session], caller: Caller, text: str, now: datetime) -> b.Reply | None:
    """Commands that only read run without the write lock; None if the workspace is new (creating it writes)."""
    with session_factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        workspace = find_workspace(session, caller.team_id, caller.enterprise_id)
        if workspace is None or workspace.uninstalled_at is not None:  # creating it, or installed again, writes
            return None
        person = cache(caller.person)
        ctx = Context(workspace_id=workspace.id, user_id=caller.user_id, now=now,
                      user_tz=lambda: person().tz, is_admin=lambda: person().is_admin, channel=caller.channel,
                   update_every=caller.update_every)
        try:
            return execute(session, ctx, text)
        except CommandError as exc:
            return b.error(exc.message, exc.usage)
        finally:
            session.rollback()


BUTTONS: dict[str, Callable[[Session, Context, int], b.Reply]] = {
    "referral_thanked": thanked_from_button,
    "forget_confirm": forget_confirmed,
}


def run_button(session_factory: sessionmaker[Session], caller: Caller, action_id: str, value: str,
               now: datetime) -> b.Reply:
    """A click. Values come from the client and are not trusted: a bad one is a friendly reply, not an error."""
    handler = BUTTONS.get(action_id)
    if handler is None or not value.isdigit() or len(value) > 18:
        return b.error("That button is out of date. Run the command again.")
    return run_in_transaction(session_factory, lambda s: handler(s, _context(s, caller, now), int(value)))


def run_click(session_factory: sessionmaker[Session], caller: Caller, action: str, value: str,
              now: datetime) -> ClickResult:
    try:
        with session_factory.begin() as session:
            return click(session, _context(session, caller, now), action, value)
    except CommandError as exc:
        return ClickResult(ephemeral=b.error(exc.message))


def digest_card(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> b.Reply:
    with session_factory.begin() as session:
        return open_client(session, _context(session, caller, now), value)


def run_log_form(session_factory: sessionmaker[Session], caller: Caller, values: dict[str, Any],
                 private_metadata: str, now: datetime) -> tuple[dict[str, str], list[MessageUpdate]]:
    """The modal's submission: errors keep the form open and roll everything back."""
    session = session_factory()
    try:
        with session.begin():
            errors, updates = submit(session, _context(session, caller, now), values, private_metadata)
            if errors:
                session.rollback()
                return errors, []
        return {}, updates
    finally:
        session.close()


def client_choices(session_factory: sessionmaker[Session], caller: Caller, query: str,
                   now: datetime) -> list[dict[str, Any]]:
    with session_factory.begin() as session:
        return client_options(session, _context(session, caller, now), query)


def log_form_for(caller: Caller, now: datetime, client: tuple[int, str] | None = None,
                 nudge_id: int | None = None, *, from_home: bool = False) -> dict[str, Any]:
    """The modal, with today's date as the user sees it."""
    return log_form(client, now.astimezone(caller.person().tz).date(), nudge_id, from_home)


def message_log_form(session_factory: sessionmaker[Session], caller: Caller, payload: dict[str, Any],
                     now: datetime) -> dict[str, Any] | None:
    """Log to Rapport on a message: the log form, prefilled from it (None: the payload names no message)."""
    with session_factory.begin() as session:
        return message_form(session, _context(session, caller, now), payload, caller.team_id)


def wants_log_form(text: str) -> bool:
    """`/client` alone and `/client log` alone open the form instead of answering."""
    return text.strip().lower() in ("", "log")


def home_view(session_factory: sessionmaker[Session], caller: Caller, now: datetime, settings: Settings,
              page: int = 1, attention_page: int = 1, notice: b.Reply | None = None) -> dict[str, Any]:
    with session_factory.begin() as session:
        return home(session, _context(session, caller, now), settings, page, attention_page, notice)


def home_not_relevant(session_factory: sessionmaker[Session], caller: Caller, value: str,
                      now: datetime) -> b.Reply | None:
    """None when done; else what to tell the clicker (someone dealt with it first)."""
    with session_factory.begin() as session:
        return not_relevant_from_home(session, _context(session, caller, now), value)


def home_settle(session_factory: sessionmaker[Session], caller: Caller, value: str,
                now: datetime) -> tuple[list[MessageUpdate], b.Reply | None]:
    """Kept or Resolved on the Home tab: the card messages to bring up to date, and what to tell the clicker
    when someone settled it first."""
    with session_factory.begin() as session:
        ctx = _context(session, caller, now)
        notice = settle_from_home(session, ctx, value)
        return message_updates(session, ctx.workspace_id), notice


def home_snooze(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> None:
    with session_factory.begin() as session:
        snooze_from_home(session, _context(session, caller, now), value)


def home_card(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> dict[str, Any]:
    with session_factory.begin() as session:
        return card_modal(session, _context(session, caller, now), value)


def client_for_form(session_factory: sessionmaker[Session], caller: Caller, value: str,
                    now: datetime) -> tuple[int, str] | None:
    """The client a Home-tab "Log a touch" button names, if it still exists in the caller's workspace."""
    if not value.isdigit() or len(value) > 18:
        return None
    with session_factory.begin() as session:
        ctx = _context(session, caller, now)
        client = get_client(session, ctx.workspace_id, int(value))
        return (client.id, client.name) if client else None


__all__ = [
    "USAGE",
    "Caller",
    "ClickResult",
    "CommandError",
    "Context",
    "client_choices",
    "client_for_form",
    "digest_card",
    "execute",
    "forget_confirmed",
    "home_card",
    "home_not_relevant",
    "home_settle",
    "home_snooze",
    "home_view",
    "log_form_for",
    "message_log_form",
    "run_button",
    "run_click",
    "run_client_command",
    "run_in_transaction",
    "run_log_form",
    "thanked_from_button",
    "wants_log_form",
]
