"""`/client …`: one entry point that runs a subcommand in one transaction and always returns a Reply; and the
buttons in its replies (Mark thanked, Forget)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.commands.commitments import cmd_issue, cmd_kept, cmd_promise, cmd_resolved
from bot.commands.contacts import HEADS_UP_ACTION, cmd_contact, heads_up_given
from bot.commands.goals import cmd_goal
from bot.commands.handoffs import closeout_tick, cmd_closeout, cmd_handoff
from bot.commands.links import cmd_link, cmd_unlink
from bot.commands.mail import cmd_domain, cmd_mail
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
from bot.commands.me import cmd_me
from bot.commands.reviews import cmd_review
from bot.commands.touches import cmd_checkin, cmd_log, cmd_referral, cmd_thanked, thanked_from_button
from bot.commands.usage import USAGE
from bot.commands.views import cmd_help, cmd_list, cmd_status
from bot.nudges.cards import message_updates
from bot.relationship.cards import UPDATES
from bot.slack import blocks as b
from bot.slack.caller import Caller, CommandError, Context, context_for, reading_context, run_in_transaction
from storage.db import READ_ONLY
from storage.workspaces import find_workspace

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
    "goal": cmd_goal,
    "review": cmd_review,
    "contact": cmd_contact,
    "handoff": cmd_handoff,
    "closeout": cmd_closeout,
    "me": cmd_me,
    "domain": cmd_domain,
    "mail": cmd_mail,
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


READ_ONLY_COMMANDS = frozenset({"help", "status", "list", "review"})


def run_client_command(session_factory: sessionmaker[Session], caller: Caller, text: str, now: datetime) -> b.Reply:
    words = text.split(None, 1)
    if words and words[0].lower() in READ_ONLY_COMMANDS:
        reply = _read_only(session_factory, caller, text, now)
        if reply is not None:
            return reply
    return run_in_transaction(session_factory, lambda s: _execute(s, caller, now, text))


def _execute(session: Session, caller: Caller, now: datetime, text: str) -> b.Reply:
    ctx = context_for(session, caller, now)
    reply = execute(session, ctx, text)
    if session.info.get(UPDATES):  # a touch closed cards: their messages are brought up to date after the commit
        reply = replace(reply, updates=tuple(message_updates(session, ctx.workspace_id, ctx.settings.tz)))
    return reply


def _read_only(session_factory: sessionmaker[Session], caller: Caller, text: str, now: datetime) -> b.Reply | None:
    """Commands that only read run without the write lock; None if the workspace is new (creating it writes)."""
    with session_factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        workspace = find_workspace(session, caller.team_id, caller.enterprise_id)
        if workspace is None or workspace.uninstalled_at is not None:  # creating it, or installed again, writes
            return None
        ctx = reading_context(workspace, caller, now)
        try:
            return execute(session, ctx, text)
        except CommandError as exc:
            return b.error(exc.message, exc.usage)
        finally:
            session.rollback()


BUTTONS: dict[str, Callable[[Session, Context, int], b.Reply]] = {
    "referral_thanked": thanked_from_button,
    "forget_confirm": forget_confirmed,
    HEADS_UP_ACTION: heads_up_given,
}


def run_button(session_factory: sessionmaker[Session], caller: Caller, action_id: str, value: str,
               now: datetime) -> b.Reply:
    """A click. Values come from the client and are not trusted: a bad one is a friendly reply, not an error."""
    handler = BUTTONS.get(action_id)
    if handler is None or not value.isdigit() or len(value) > 18:
        return b.error("That button is out of date. Run the command again.")
    return run_in_transaction(session_factory, lambda s: handler(s, context_for(s, caller, now), int(value)))


def run_closeout_tick(session_factory: sessionmaker[Session], caller: Caller, value: str, now: datetime) -> b.Reply:
    """A Tick on a closeout's checklist (its value is 'closeout id:item', not a bare id)."""
    return run_in_transaction(session_factory, lambda s: closeout_tick(s, context_for(s, caller, now), value))


def wants_log_form(text: str) -> bool:
    """`/client` alone and `/client log` alone open the form instead of answering."""
    return text.strip().lower() in ("", "log")


__all__ = ["USAGE", "Caller", "CommandError", "Context", "execute", "run_button", "run_client_command",
           "run_closeout_tick", "run_in_transaction", "wants_log_form"]
