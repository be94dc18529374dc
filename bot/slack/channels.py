"""What Slack says about a channel (conversations.info), as far as linking a client's channel needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelInfo:
    is_member: bool  # the bot is in it, so it receives its messages
    shared: bool  # it has members from another workspace (Slack Connect)


def channel_info(client: WebClient, channel_id: str) -> ChannelInfo | None:
    """None when Slack could not be asked; a private channel the bot is not in reads as not a member."""
    try:
        channel = client.conversations_info(channel=channel_id).get("channel") or {}
    except SlackApiError as exc:
        if exc.response.get("error") in ("channel_not_found", "not_in_channel"):
            return ChannelInfo(is_member=False, shared=False)
        log.warning("conversations.info failed for %s: %s", channel_id, exc.response.get("error"))
        return None
    except (SlackClientError, OSError) as exc:
        log.warning("conversations.info failed for %s: %s", channel_id, exc)
        return None
    return ChannelInfo(is_member=bool(channel.get("is_member")), shared=bool(channel.get("is_ext_shared")))
