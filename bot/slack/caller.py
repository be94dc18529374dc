"""Who is asking, from a verified Slack request (workspace, user, their timezone, whether they are an admin), and
one request as one transaction: what every surface (commands, App Home, the log form, card buttons) starts from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.channels import ChannelInfo
from bot.slack.people import Person, SlackUser
from storage.models import Client, Workspace
from storage.workspaces import get_or_create_workspace

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A user mistake: the reply says what was wrong and shows the right form; nothing is written."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class Context:
    """Who is asking, where, and when. Slack look-ups are callables so only commands that need them pay."""

    workspace_id: int
    user_id: str
    now: datetime
    user_tz: Callable[[], ZoneInfo]
    is_admin: Callable[[], bool]
    # what Slack says of a channel (membership, Slack Connect); None when it could not be asked
    channel: Callable[[str], ChannelInfo | None] = lambda _channel: None
    update_every: int = Settings.update_every  # RAPPORT_UPDATE_EVERY, as the issue command explains it
    settings: Settings = field(default_factory=Settings)  # the deployment's (timezone, business hours): reviews
    # what Slack says of a user a command names (users.info); None when it could not be asked
    someone: Callable[[str], SlackUser | None] = lambda _user: None


Handler = Callable[..., b.Reply]


@dataclass(frozen=True)
class Caller:
    """Who sent a request, from the verified Slack payload. `person` is looked up only if a command needs it."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    person: Callable[[], Person]
    channel: Callable[[str], ChannelInfo | None] = lambda _channel: None
    update_every: int = Settings.update_every
    settings: Settings = field(default_factory=Settings)
    someone: Callable[[str], SlackUser | None] = lambda _user: None


def owner_or_admin(ctx: Context, client: Client) -> bool:
    """Whether the person asking may change what others rely on about a client (PRODUCT.md §3 "Who may change
    what"): its owner, or a workspace admin. Read it from a client locked for the change (storage.clients
    .lock_client), so an owner changed by a request at the same moment is the one asked about."""
    return client.owner_id == ctx.user_id or ctx.is_admin()


def context_for(session: Session, caller: Caller, now: datetime) -> Context:
    """The caller's workspace (made on its first request) and who they are, for a request that may write."""
    workspace = get_or_create_workspace(session, caller.team_id, caller.enterprise_id, now)
    if workspace.uninstalled_at is not None:
        # Slack delivers a command only to an installed app: it was installed again (single-workspace mode has
        # no OAuth callback to say so), and nudges are planned and posted there again.
        workspace.uninstalled_at = None
        log.warning("workspace %s sent a command after an uninstall: Rapport is installed there again; "
                    "nudges resume", workspace.team_id)
    # A session holds what it loaded weakly: held here, the workspace stays in its identity map for the whole
    # request, so a later session.get(Workspace, id) in it (time zones, business days) costs no round trip.
    session.info["workspace"] = workspace
    return reading_context(workspace, caller, now)


def reading_context(workspace: Workspace, caller: Caller, now: datetime) -> Context:
    """Who is asking, in a workspace that already exists. The person is looked up at most once, if at all."""
    person = cache(caller.person)
    return Context(workspace_id=workspace.id, user_id=caller.user_id, now=now,
                   user_tz=lambda: person().tz, is_admin=lambda: person().is_admin, channel=caller.channel,
                   update_every=caller.update_every, settings=caller.settings,
                   someone=caller.someone)


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
