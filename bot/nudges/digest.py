"""The weekly digest (PRODUCT.md §4.7): Monday 09:00 workspace time, one per nudge destination, the same
sections in the same order every week, zeros shown."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.nudges import rules
from bot.relationship.facts import is_quiet, is_unanswered, next_checkin, silent_days, warning_window_start
from bot.relationship.health import RANK
from bot.relationship.health_data import health_of
from bot.relationship.kinds import WARNING_SIGNS
from bot.slack import blocks as b
from storage.models import Client, Workspace
from storage.queries import all_clients, clients_with_warning_signs, open_referrals_in

SECTIONS = ("Gone quiet", "Unanswered", "Check-ins due this week", "Referrers to thank", "At risk",
            "Former clients due", "Deepest relationships", "Shallowest relationships")
SHOWN = 10  # names per section; the count is always the full number
CURRENT = ("active", "prospect", "paused")


def digest_week(now: datetime, tz: ZoneInfo, when: tuple[int, time] = (0, time(9))) -> str | None:
    """The ISO week whose digest is due now: from the digest's day and time (Monday 09:00 by default, local
    time) until the week ends."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday + timedelta(days=when[0]), when[1], tzinfo=tz):
        return None
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def route(client: Client, workspace: Workspace, default_channel: str | None) -> str:
    return client.channel_id or workspace.default_channel_id or default_channel or client.owner_id


def digest_targets(session: Session, workspace: Workspace, default_channel: str | None) -> list[str]:
    """Every place nudges go: each client's route, and the default channel even if nothing routes there yet."""
    targets = {route(c, workspace, default_channel) for c in all_clients(session, workspace.id)}
    if workspace.default_channel_id or default_channel:
        targets.add(workspace.default_channel_id or default_channel or "")
    return sorted(targets)


def _item(client: Client, detail: str) -> dict[str, Any]:
    return {"id": client.id, "name": client.name, "detail": detail}


def sections_by_target(session: Session, workspace: Workspace, now: datetime,
                       default_channel: str | None) -> dict[str, list[dict[str, Any]]]:
    clients = all_clients(session, workspace.id)
    by_target: dict[str, list[Client]] = defaultdict(list)
    for client in clients:
        by_target[route(client, workspace, default_channel)].append(client)
    risky = clients_with_warning_signs(session, workspace.id, WARNING_SIGNS, warning_window_start(now),
                                       rules.AT_RISK_SIGNS)
    thanks: dict[int, int] = defaultdict(int)
    for referral in open_referrals_in(session, workspace.id):
        thanks[referral.referrer_id] += 1
    health = health_of(session, [c for c in clients if c.status in CURRENT], now)
    week = now + timedelta(days=7)
    result = {}
    for target in {*by_target, workspace.default_channel_id or default_channel or ""} - {""}:
        group = by_target.get(target, [])
        current = [c for c in group if c.status in CURRENT]
        contactable = [c for c in current if c.status != "paused"]
        quiet = [c for c in contactable if is_quiet(c, now)]
        unanswered = [c for c in contactable if is_unanswered(c, now)]
        checkins = [(c, due) for c in contactable if (due := next_checkin(c)) is not None and due <= week]
        former = [c for c in group if c.status == "former" and c.next_winback_at and c.next_winback_at <= week]
        ranked = sorted(current, key=lambda c: (RANK[health[c.id].label], -health[c.id].met, c.name_key))
        deepest = [c for c in ranked if health[c.id].label in ("Deep", "Steady")][:3]
        shallowest = [c for c in reversed(ranked) if health[c.id].label in ("Shallow", "At risk")][:3]
        result[target] = [
            _section("Gone quiet", [_item(c, f"silent {silent_days(c, now)} days") for c in quiet]),
            _section("Unanswered", [_item(c, f"{c.unanswered_count} touches unanswered") for c in unanswered]),
            _section("Check-ins due this week", [_item(c, f"due {due:%a %d %b}") for c, due in checkins]),
            _section("Referrers to thank", [_item(c, f"{thanks[c.id]} to thank") for c in group if thanks.get(c.id)]),
            _section("At risk", [_item(c, "2+ warning signs in 30 days") for c in current if c.id in risky]),
            _section("Former clients due", [_item(c, "feedback ask" if c.winback_nudges == 0 else "soft touch")
                                            for c in former]),
            _section("Deepest relationships", [_item(c, health[c.id].label) for c in deepest]),
            _section("Shallowest relationships", [_item(c, health[c.id].label) for c in shallowest]),
        ]
    return result


def _section(title: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"title": title, "count": len(items), "items": items[:SHOWN]}


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
            blocks.append(b.actions({
                "type": "static_select", "action_id": "digest_open",
                "placeholder": {"type": "plain_text", "text": "Open a client…"},
                "options": [{"text": {"type": "plain_text", "text": b.clip(i["name"], 75)}, "value": str(i["id"])}
                            for i in section["items"]]}, block_id=f"digest-{SECTIONS.index(section['title'])}"))
    counts = ", ".join(f"{s['title'].lower()} {s['count']}" for s in facts["sections"][:6])
    return b.fallback(f"Weekly digest {facts['week']}: {counts}"), blocks
