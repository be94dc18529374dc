"""Log to Rapport (PRODUCT.md §4.9): the message shortcut opens the log form prefilled from a message: the
client its channel is linked to (else the typeahead), the day it was written, its author's side as the
direction, and its text as the note, which is kept only if the person submits it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.log_form.form import FromMessage, log_form
from bot.slack.caller import Context
from bot.slack.text import to_plain
from storage.capture import linked_channel
from storage.contacts import contacts_for_slack_user
from storage.models import NOTE_MAX, Client


def _text(value: Any, limit: int = 64) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def message_form(session: Session, ctx: Context, payload: dict[str, Any], our_team: str) -> dict[str, Any] | None:
    """The form for a message_action payload, or None when the payload names no message."""
    channel = raw if isinstance(raw := payload.get("channel"), dict) else {}
    message = raw if isinstance(raw := payload.get("message"), dict) else {}
    channel_id, ts = _text(channel.get("id")), _text(message.get("ts"), 32)
    try:
        written = datetime.fromtimestamp(float(ts), UTC) if ts else None
    except (ValueError, OverflowError, OSError):
        written = None
    if channel_id is None or ts is None or written is None:
        return None
    link = linked_channel(session, ctx.workspace_id, channel_id)
    client = session.get(Client, link.client_id) if link else None
    author_team = _text(message.get("user_team")) or _text(message.get("team"))
    # a bot's message, or one whose author's side Slack does not say, starts as two-way
    unknown = bool(message.get("bot_id")) or author_team is None
    direction = "both" if unknown else "to" if author_team == our_team else "from"
    text = raw if isinstance(raw := message.get("text"), str) else ""
    note = to_plain(text).strip()[:NOTE_MAX]
    day = min(written, ctx.now).astimezone(ctx.user_tz()).date()
    author = _text(message.get("user"))
    contact = contacts_for_slack_user(session, ctx.workspace_id, client.id, author) if client and author else None
    return log_form((client.id, client.name) if client else None, day,
                    message=FromMessage(channel_id, ts, direction, note), contact=contact)
