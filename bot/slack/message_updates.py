"""Rewriting messages Rapport posted, after the change they show has been committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


MessageUpdate = tuple[str, str, str, list[dict[str, Any]]]  # channel, ts, fallback text, blocks


def rewrite(client: WebClient, updates: Iterable[MessageUpdate]) -> None:
    """Best effort: the change is saved either way; a deleted message or a Slack hiccup leaves the old copy,
    whose buttons then answer that it was already handled."""
    for channel, ts, text, blocks in updates:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not update message %s/%s: %s", channel, ts, exc)
