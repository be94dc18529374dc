"""The weekly digest (PRODUCT.md §4.7): Monday 09:00 workspace time, one per nudge destination, the same
sections in the same order every week, zeros shown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.slack import blocks as b
from storage.models import Workspace
from storage.queries import route_targets

SECTIONS = ("Gone quiet", "Unanswered", "Check-ins due this week", "Referrers to thank", "At risk",
            "Former clients due", "Promises due this week", "Open issues", "Waiting for a card",
            "Deepest relationships", "Shallowest relationships")
COUNTED = 8  # the sections the plain-text fallback counts: everything due or owed


def digest_week(now: datetime, tz: ZoneInfo, when: tuple[int, time] = (0, time(9))) -> str | None:
    """The ISO week whose digest is due now: from the digest's day and time (Monday 09:00 by default, local
    time) until the week ends."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday + timedelta(days=when[0]), when[1], tzinfo=tz):
        return None
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def router(workspace: Workspace, default_channel: str | None) -> Callable[[str | None, str], str]:
    """Where a client's nudges go, from its (channel, owner): its channel, else the workspace default, else the
    deployment's, else its owner's DMs."""
    default = workspace.default_channel_id or default_channel

    def route(channel: str | None, owner: str) -> str:
        return channel or default or owner

    return route


def digest_targets(session: Session, workspace: Workspace, default_channel: str | None) -> list[str]:
    """Every place nudges go: each client's route, and the default channel even if nothing routes there yet."""
    channels, owners = route_targets(session, workspace.id)
    default = workspace.default_channel_id or default_channel
    return sorted(channels | ({default} if default else owners))


def digest_message(facts: dict[str, Any]) -> tuple[str, list[b.Block]]:
    blocks: list[b.Block] = [b.header(f"Weekly relationships digest · {facts['week']}")]
    for section in facts["sections"]:
        lines = [b.line(b.text(f"{section['title']} ({section['count']})", bold=True))]
        if section["items"]:
            lines.append(b.bullets([b.line(b.text(i["name"], bold=True), f" · {i['detail']}")
                                    for i in section["items"]]))
            if section["count"] > len(section["items"]):
                lines.append(b.line(f"…and {section['count'] - len(section['items'])} more"))
        else:
            lines.append(b.line("None this week."))
        blocks.append(b.rich(*lines))
        if section["items"]:
            options = {i["id"]: i["name"] for i in section["items"]}  # a client owing two promises: one option
            blocks.append(b.actions({
                "type": "static_select", "action_id": "digest_open",
                "placeholder": {"type": "plain_text", "text": "Open a client…"},
                "options": [{"text": {"type": "plain_text", "text": b.clip(name, 75)}, "value": str(client_id)}
                            for client_id, name in options.items()]},
                block_id=f"digest-{SECTIONS.index(section['title'])}"))
    rate = facts.get("action_rate")
    if rate:
        nudged, acted = rate
        blocks.append(b.context(
            f"Action rate last week: {acted} of the {nudged} clients Rapport nudged you about had a touch logged "
            f"within 7 days ({round(100 * acted / nudged)}%)." if nudged else
            "Action rate last week: Rapport nudged you about no clients."))
    reviews = facts.get("reviews_shared")
    if reviews:  # PRODUCT.md §4.12: how many of last month's reviews reached their clients
        blocks.append(b.context(f"Reviews shared last month: {reviews[0]} of {reviews[1]}."))
    channel = facts.get("referral_channel")
    if channel:
        referring, active = channel
        share = f" ({round(100 * referring / active)}%)" if active else ""
        blocks.append(b.context(f"Referral channel: {referring} of {active} active clients referred someone in the "
                                f"last 12 months{share}."))
    counts = ", ".join(f"{s['title'].lower()} {s['count']}" for s in facts["sections"][:COUNTED])
    return b.fallback(f"Weekly digest {facts['week']}: {counts}"), blocks
