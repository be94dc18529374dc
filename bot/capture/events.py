"""What a Slack message event says, as far as capture cares: who, where, when, which side. Never the text.

Event bodies come from the network; everything is checked before it is used, and anything that is not what
Slack sends is simply not a touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.slack.authorizations import Installation, installations_in
from bot.slack.text import payload_text

# Subtypes that are a person writing; every other one (joins, leaves, topics, edits, bots…) is not a touch.
PERSON = frozenset({None, "thread_broadcast", "file_share", "me_message"})
DELETED = "message_deleted"


@dataclass(frozen=True)
class SlackMessage:
    team_id: str  # ours: the installation the event was delivered for (authorizations[0]), never the envelope's
    enterprise_id: str | None
    channel: str
    user: str | None
    user_team: str | None  # the author's workspace, when Slack says (Slack Connect)
    ts: str
    subtype: str | None
    from_bot: bool
    deleted_ts: str | None
    shared: bool | None  # the envelope's is_ext_shared_channel, when present
    installations: tuple[Installation, ...] = ()  # every installation `authorizations` lists
    event_context: str | None = None  # for apps.event.authorizations.list

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts), UTC)

    @property
    def is_person(self) -> bool:
        return self.subtype in PERSON and not self.from_bot and self.user is not None


def _ts(value: Any) -> str | None:
    text = payload_text(value, 32)
    if text is None:
        return None
    try:
        moment = float(text)
    except ValueError:
        return None
    return text if 0 < moment < 32503680000 else None  # before year 3000


def read_installations(body: dict[str, Any]) -> tuple[Installation, ...]:
    """The installations an event was delivered for. Ours come from `authorizations`, as Bolt's do: in a Slack
    Connect channel the envelope's `team_id`/`enterprise_id` may be the author's organisation (on Enterprise Grid
    its `enterprise_id` always is). Only a body with no `authorizations` at all falls back to the envelope."""
    if isinstance(body.get("authorizations"), list) and body["authorizations"]:
        return tuple(installations_in(body["authorizations"]))
    team = payload_text(body.get("team_id"))
    return (Installation(payload_text(body.get("enterprise_id")), team),) if team else ()


def read_event(body: dict[str, Any]) -> SlackMessage | None:
    """A message event's facts, or None when the body is not one Slack would send."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") != "message":
        return None
    installations = read_installations(body)
    first = installations[0] if installations else None
    team = first.team_id if first else None
    channel = payload_text(event.get("channel"))
    subtype = event.get("subtype") if event.get("subtype") is None else payload_text(event.get("subtype"))
    deleted = _ts(event.get("deleted_ts")) if event.get("subtype") == DELETED else None
    ts = _ts(event.get("ts")) or deleted
    if first is None or channel is None or ts is None or (event.get("subtype") is not None and subtype is None):
        return None
    shared = body.get("is_ext_shared_channel")
    return SlackMessage(
        team_id=team or "", enterprise_id=first.enterprise_id,
        channel=channel, user=payload_text(event.get("user")), user_team=payload_text(event.get("user_team")), ts=ts,
        subtype=subtype, from_bot=bool(event.get("bot_id")) or subtype == "bot_message", deleted_ts=deleted,
        shared=shared if isinstance(shared, bool) else None, installations=installations,
        event_context=payload_text(body.get("event_context"), 300))
