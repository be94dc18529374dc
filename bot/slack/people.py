"""Who a Slack user is, as far as Rapport cares: their timezone and whether they administer the workspace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.channels import ChannelInfo, channel_info

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    tz: ZoneInfo
    is_admin: bool
    team_id: str | None = None  # the workspace they belong to (Slack Connect: maybe not ours); None if unknown


@dataclass(frozen=True)
class SlackUser:
    """What users.info says of a user a command names (a contact's Slack user, a new owner): whether Slack knows
    them, whether they are a person (not a bot, not deactivated), and which workspace and Enterprise Grid org they
    belong to (a Slack Connect member's are another organisation's)."""

    found: bool
    is_bot: bool = False
    deleted: bool = False
    team_id: str | None = None
    enterprise_id: str | None = None


def owner_refusal(user: SlackUser | None, user_id: str, team_id: str, enterprise_id: str | None,
                  who: str | None = None) -> str | None:
    """Why `user_id` cannot own a client of the workspace (team_id, enterprise_id), or None when they can
    (PRODUCT.md §3): a client's owner gets its cards, its digest and its history, so it is a person of our own
    workspace, never a bot, a deactivated or unknown user, or a Slack Connect member of another organisation.
    `user`: what users.info said; None when Slack could not be asked, which is not taken as a yes. `who`: how the
    answer names them (a mention, unless given)."""
    who = who or f"<@{user_id}>"
    if user is None:
        return f"Slack could not tell me who {who} is just now, so nothing changed. Try again in a moment."
    if not user.found:
        return f"Slack doesn't know {who} as a member of this workspace; a client's owner is one of your own people."
    if user.deleted:
        return f"{who} is deactivated in Slack; a client's owner is someone still on your team."
    if user.is_bot:
        return f"{who} is a bot, not a person; a client's owner is one of your own people."
    ours = user.team_id is None or user.team_id == team_id or (
        bool(enterprise_id) and enterprise_id in (user.enterprise_id, user.team_id))
    if not ours:
        return (f"{who} is from another organisation (Slack Connect), not one of your own people: the client's "
                "cards, digest and history would go to them.")
    return None


def slack_user(client: WebClient, user_id: str, timeout_seconds: int = 1) -> SlackUser | None:
    """users.info for someone a command names; None when Slack could not be asked (the caller decides)."""
    quick = WebClient(token=client.token, base_url=client.base_url, timeout=timeout_seconds, retry_handlers=[])
    try:
        info = quick.users_info(user=user_id)
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "users_not_found"):
            return SlackUser(found=False)
        log.warning("users.info failed for %s: %s", user_id, exc)
        return None
    except (SlackClientError, OSError) as exc:
        log.warning("users.info failed for %s: %s", user_id, exc)
        return None
    user = info.get("user") or {}
    team = user.get("team_id")
    grid = user.get("enterprise_user")
    org = grid.get("enterprise_id") if isinstance(grid, dict) else None
    return SlackUser(found=True, is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
                     deleted=bool(user.get("deleted")), team_id=team if isinstance(team, str) else None,
                     enterprise_id=org if isinstance(org, str) and org else None)


class Directory(Protocol):
    def person(self, client: WebClient, team_id: str, user_id: str) -> Person: ...

    def channel(self, client: WebClient, channel_id: str) -> ChannelInfo | None: ...

    def someone(self, client: WebClient, user_id: str) -> SlackUser | None: ...


class StaticDirectory:
    """For the offline shell: everyone is in the workspace timezone and may do everything, and every channel
    has the bot in it and is shared with the client."""

    def __init__(self, tz: ZoneInfo, is_admin: bool = True) -> None:
        self._person = Person(tz, is_admin)

    def person(self, client: WebClient, team_id: str, user_id: str) -> Person:
        return self._person

    def channel(self, client: WebClient, channel_id: str) -> ChannelInfo | None:
        return ChannelInfo(is_member=True, shared=True)

    def someone(self, client: WebClient, user_id: str) -> SlackUser | None:
        return SlackUser(found=True)


class SlackDirectory:
    """users.info with a time-limited cache, so a busy user costs one look-up an hour, not one per command.

    If Slack can't answer, the workspace timezone stands in and admin rights are not assumed.
    """

    def __init__(self, fallback_tz: ZoneInfo, ttl_seconds: float = 3600, timeout_seconds: int = 1,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._fallback = fallback_tz
        self._timeout = timeout_seconds
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}
        self._lock = threading.Lock()

    def person(self, client: WebClient, team_id: str, user_id: str) -> Person:
        key = (team_id, user_id)
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        # This runs before the command is acknowledged, inside Slack's 3 seconds: wait briefly, then fall back.
        quick = WebClient(token=client.token, base_url=client.base_url, timeout=self._timeout, retry_handlers=[])
        try:
            info = quick.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info failed for %s: %s; using the workspace timezone", user_id, exc)
            return Person(self._fallback, False)
        user = info.get("user") or {}
        try:
            tz = ZoneInfo(user.get("tz") or "")
        except (ZoneInfoNotFoundError, ValueError):
            tz = self._fallback
        team = user.get("team_id")
        person = Person(tz, bool(user.get("is_admin") or user.get("is_owner")), team if isinstance(team, str) else None)
        with self._lock:
            self._cache[key] = (now, person)
        return person

    def channel(self, client: WebClient, channel_id: str) -> ChannelInfo | None:
        return channel_info(client, channel_id)

    def someone(self, client: WebClient, user_id: str) -> SlackUser | None:
        return slack_user(client, user_id, self._timeout)
