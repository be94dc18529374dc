from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.settings import Settings
from bot.slack.blocks import Reply
from bot.slack.channels import ChannelInfo


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


Handler = Callable[..., Reply]
