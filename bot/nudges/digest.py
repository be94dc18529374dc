"""The weekly digest (PRODUCT.md §4.7): Monday 09:00 workspace time, one per nudge destination, the same
sections in the same order every week, zeros shown."""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nudges import ranking, rules
from bot.nudges.focus import Scale, ranked_waiting
from bot.nudges.ranking import Ranked
from bot.relationship.facts import is_quiet, is_unanswered, next_checkin, silent_days, warning_window_start
from bot.relationship.health import RANK
from bot.relationship.health_data import health_of
from bot.relationship.kinds import WARNING_SIGNS
from bot.slack import blocks as b
from storage.focus import action_rate
from storage.models import Client, Workspace
from storage.queries import all_clients, clients_with_warning_signs, open_referrals_in

SECTIONS = ("Gone quiet", "Unanswered", "Check-ins due this week", "Referrers to thank", "At risk",
            "Former clients due", "Waiting for a card", "Deepest relationships", "Shallowest relationships")
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


def waiting_by_target(session: Session, workspace: Workspace, now: datetime, scale: Scale,
                      target_of: dict[int, str]) -> dict[str, tuple[list[dict[str, Any]], int]]:
    """Per destination, the clients waiting for a card, ranked as focus ranks them: (the first SHOWN, count)."""
    found: dict[str, list[Ranked]] = defaultdict(list)
    for ranked in ranked_waiting(session, workspace.id, None, now, scale):
        target = target_of.get(ranked.candidate.client_id)
        if target is not None:
            found[target].append(ranked)  # one small record per waiting client, a week's worth at most
    result = {}
    names = dict(session.execute(select(Client.id, Client.name).where(Client.workspace_id == workspace.id)).all())
    for target, waiting in found.items():
        best = heapq.nsmallest(SHOWN, waiting, key=Ranked.order)
        result[target] = ([{"id": r.candidate.client_id, "name": names[r.candidate.client_id],
                            "detail": ranking.reasons_phrase(r, now) + (f", waiting {r.waited} workdays"
                                                                         if r.waited else "")} for r in best],
                          len(waiting))
    return result


def sections_by_target(session: Session, workspace: Workspace, now: datetime, default_channel: str | None,
                       scale: Scale) -> dict[str, dict[str, Any]]:
    """Each destination's sections, and last week's action rate for the clients routed there."""
    clients = all_clients(session, workspace.id)
    by_target: dict[str, list[Client]] = defaultdict(list)
    for client in clients:
        by_target[route(client, workspace, default_channel)].append(client)
    waiting = waiting_by_target(session, workspace, now, scale,
                                {c.id: route(c, workspace, default_channel) for c in clients})
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
        result[target] = {"sections": [
            _section("Gone quiet", [_item(c, f"silent {silent_days(c, now)} days") for c in quiet]),
            _section("Unanswered", [_item(c, f"{c.unanswered_count} touches unanswered") for c in unanswered]),
            _section("Check-ins due this week", [_item(c, f"due {due:%a %d %b}") for c, due in checkins]),
            _section("Referrers to thank", [_item(c, f"{thanks[c.id]} to thank") for c in group if thanks.get(c.id)]),
            _section("At risk", [_item(c, "2+ warning signs in 30 days") for c in current if c.id in risky]),
            _section("Former clients due", [_item(c, "feedback ask" if c.winback_nudges == 0 else "soft touch")
                                            for c in former]),
            _section("Waiting for a card", *waiting.get(target, ([], 0))),
            _section("Deepest relationships", [_item(c, health[c.id].label) for c in deepest]),
            _section("Shallowest relationships", [_item(c, health[c.id].label) for c in shallowest]),
        ]}
        result[target]["action_rate"] = list(action_rate(session, workspace.id, now - timedelta(days=7), now,
                                                         [c.id for c in group]))
    return result


def _section(title: str, items: list[dict[str, Any]], count: int | None = None) -> dict[str, Any]:
    return {"title": title, "count": len(items) if count is None else count, "items": items[:SHOWN]}


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
    rate = facts.get("action_rate")
    if rate:
        nudged, acted = rate
        blocks.append(b.context(
            f"Action rate last week: {acted} of the {nudged} clients Rapport nudged you about had a touch logged "
            f"within 7 days ({round(100 * acted / nudged)}%)." if nudged else
            "Action rate last week: Rapport nudged you about no clients."))
    counts = ", ".join(f"{s['title'].lower()} {s['count']}" for s in facts["sections"][:6])
    return b.fallback(f"Weekly digest {facts['week']}: {counts}"), blocks
