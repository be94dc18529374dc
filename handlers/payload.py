from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.caller import Caller
from bot.slack.people import Directory
from bot.slack.text import payload_text


class BadPayloadError(Exception):
    pass


def caller_from(body: Mapping[str, Any], client: WebClient, directory: Directory,
                settings: Settings | None = None) -> Caller:
    """Slash commands carry team_id/user_id at the top; interactions nest them in team/user objects. `settings`:
    the deployment's, for what a surface reads of them (the timezone days are written in, focus's budget)."""
    team = body.get("team")
    user = body.get("user")
    team_id = payload_text(body.get("team_id")) or (payload_text(team.get("id")) if isinstance(team, dict) else None)
    user_id = payload_text(body.get("user_id")) or (payload_text(user.get("id")) if isinstance(user, dict) else None)
    # As Bolt finds it: an interaction may name its org only inside `team` (Enterprise Grid)
    enterprise = body.get("enterprise_id") or body.get("enterprise")
    enterprise_id = payload_text(enterprise.get("id")) if isinstance(enterprise, dict) else payload_text(enterprise)
    if enterprise_id is None and isinstance(team, dict):
        enterprise_id = payload_text(team.get("enterprise_id"))
    if team_id is None or user_id is None:
        raise BadPayloadError("missing team or user")
    caller = Caller(team_id=team_id, enterprise_id=enterprise_id, user_id=user_id,
                    person=lambda: directory.person(client, team_id, user_id),
                    channel=lambda channel_id: directory.channel(client, channel_id),
                    someone=lambda user: directory.someone(client, user))
    return replace(caller, settings=settings, update_every=settings.update_every) if settings else caller


def caller_or_none(body: Mapping[str, Any], client: WebClient, directory: Directory,
                   settings: Settings | None = None) -> Caller | None:
    """For interactions, where a malformed payload has nobody to answer: do nothing."""
    try:
        return caller_from(body, client, directory, settings)
    except BadPayloadError:
        return None
