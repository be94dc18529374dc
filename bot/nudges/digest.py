"""The weekly digest (PRODUCT.md §4.7): Monday 09:00 workspace time, one per nudge destination: every count first,
zeros shown, the same order every week; then the lists, worst first, each client once with its one next step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.nudges.digest_sections import (
    CHECKINS,
    FORMER,
    ISSUES,
    LISTS,
    NO_REPLY,
    PROMISES,
    QUIET,
    SECTIONS,
    SIGNS,
    THANKS,
    WAITING,
)
from bot.slack import blocks as b
from bot.when import Days
from storage.clients import route_targets
from storage.models import Workspace


def digest_week(now: datetime, tz: ZoneInfo, when: tuple[int, time] = (0, time(9))) -> str | None:
    """The ISO week whose digest is due now: from the digest's day and time (Monday 09:00 by default, local
    time) until the week ends."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday + timedelta(days=when[0]), when[1], tzinfo=tz):
        return None
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def latest_digest_week(now: datetime, tz: ZoneInfo, when: tuple[int, time] = (0, time(9))) -> str:
    """The ISO week of the latest digest whose day has begun: this week's from the start of its day (local
    midnight), last week's before. By the day, not the time: business hours may open before the digest time, and
    last week's must not go out that morning beside this week's (PRODUCT.md §4.7, once a week)."""
    year, week, _ = (now.astimezone(tz).date() - timedelta(days=when[0])).isocalendar()
    return f"{year}-W{week:02d}"


def superseded(week: str, now: datetime, tz: ZoneInfo, when: tuple[int, time] | None, planned: str | None) -> bool:
    """Whether the day the next week's digest is due has begun, so this one (not yet out) never will be: a digest
    belongs to its week (PRODUCT.md §4.7). `planned`: the latest week whose digests the planner wrote, which says
    so too."""
    latest = [w for w in (latest_digest_week(now, tz, when) if when else None, planned) if w]
    return any(week_of(week) < week_of(w) for w in latest)


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


def week_of(week: str) -> date:
    """The Monday of an ISO week ('2026-W50')."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


COUNT_WORDS = {QUIET: ("gone quiet",) * 2, NO_REPLY: ("with no reply",) * 2,
               CHECKINS: ("check-in due this week", "check-ins due this week"),
               THANKS: ("referrer to thank", "referrers to thank"), SIGNS: ("with 2+ warning signs",) * 2,
               FORMER: ("former client due", "former clients due"),
               PROMISES: ("promise due this week", "promises due this week"), ISSUES: ("open issue", "open issues"),
               WAITING: ("waiting their turn",) * 2}


def _counted(count: int, title: str) -> str:
    one, many = COUNT_WORDS[title]
    return one if count == 1 else many
LIST_ORDER_WORDS = {SIGNS: "most first", NO_REPLY: "most first", PROMISES: "earliest due first",
                    ISSUES: "longest without news first", QUIET: "longest silence first",
                    CHECKINS: "earliest due first", THANKS: "most first", FORMER: "soonest first",
                    WAITING: "as they will come up"}
HEALTH_LABELS = ("Deep", "Steady", "Shallow", "At risk")


def _counts(facts: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """(counts, lists) from the facts, whichever way they were planned: digests planned before the counts came
    first carried one list per section, each with its count."""
    if "counts" in facts:
        return dict(facts["counts"]), list(facts["lists"])
    old = {s["title"]: s for s in facts.get("sections", [])}
    renamed = {"Unanswered": NO_REPLY, "At risk": SIGNS, "Waiting for a card": WAITING}
    counts = {renamed.get(title, title): s["count"] for title, s in old.items() if title in renamed or
              title in SECTIONS}
    lists = [{**s, "title": renamed.get(title, title)} for title, s in old.items() if title in renamed or
             title in SECTIONS]
    return counts, lists


def digest_message(facts: dict[str, Any], days: Days | None = None) -> tuple[str, list[b.Block]]:
    """The digest (PRODUCT.md §4.7): a compact first block of every count, zeros shown, in the same order every
    week; then the lists, worst first, each client once with what happened and its one next step; then health,
    last week's action rate, reviews shared and the referral channel, each only when there is something to say."""
    days = days or Days()
    monday = days(week_of(facts["week"]))
    counts, lists = _counts(facts)
    numbers: list[b.Element | str] = []
    for index, title in enumerate(SECTIONS):
        count = counts.get(title, 0)
        numbers += [" · " if index else "", b.text(str(count), bold=True), f" {_counted(count, title)}"]
    head = [b.line(*numbers)]
    health = facts.get("health")
    if health:
        head.append(b.line("Health of current clients: " + " · ".join(
            f"{health.get(label, 0)} {label.lower()}" for label in HEALTH_LABELS)))
    blocks: list[b.Block] = [b.header(f"Weekly digest · week of {monday}"), b.rich(*head)]
    by_title = {entry["title"]: entry for entry in lists}
    menu: dict[int, str] = {}
    for title in LISTS:
        entry = by_title.get(title)
        if not entry or not entry["items"]:
            continue  # its zero is in the counts
        lines = [b.line(b.text(title, bold=True), f" · {LIST_ORDER_WORDS[title]}")]
        items = []
        for item in entry["items"]:
            parts: list[b.Element | str] = [b.text(item["name"], bold=True), f" · {item['detail']}"]
            if item.get("also"):
                parts.append(f" (also {', '.join(item['also'])})")
            if item.get("next"):
                parts += [" → ", b.text(item["next"], italic=True)]
            items.append(b.line(*parts))
            menu.setdefault(item["id"], item["name"])
        lines.append(b.bullets(items))
        hidden = entry["count"] - len(entry["items"])
        if hidden > 0:
            lines.append(b.line(f"…and {hidden} more"))
        blocks.append(b.rich(*lines))
    extremes = []
    for label, key in (("Deepest", "deepest"), ("Shallowest", "shallowest")):
        shown = facts.get(key) or []
        if shown:
            extremes.append(b.line(b.text(f"{label}: ", bold=True),
                                   ", ".join(f"{i['name']} ({i['detail']})" for i in shown)))
    if extremes:
        blocks.append(b.rich(*extremes))
    blocks += [b.context(line) for line in _footnotes(facts)]
    if menu:
        blocks.append(b.actions({
            "type": "static_select", "action_id": "digest_open",
            "placeholder": {"type": "plain_text", "text": "View a client…"},
            "options": [{"text": {"type": "plain_text", "text": b.clip(name, 75)}, "value": str(client_id)}
                        for client_id, name in list(menu.items())[:100]]}, block_id="digest-open"))
    worst = [f"{counts[title]} {_counted(counts[title], title)}" for title in LISTS if counts.get(title)]
    summary = ", ".join(worst[:6]) if worst else "nothing due or owed"
    return b.fallback(f"Weekly digest, week of {monday}: {summary}."), blocks


def _footnotes(facts: dict[str, Any]) -> list[str]:
    notes = []
    rate = facts.get("action_rate")
    if rate and rate[0]:
        nudged, acted = rate
        notes.append(f"Last week {acted} of the {nudged} clients Rapport brought up had a touch logged within 7 days "
                     f"({round(100 * acted / nudged)}%)." if nudged > 1 else
                     f"Last week the 1 client Rapport brought up had {'a' if acted else 'no'} touch logged within 7 "
                     "days.")
    reviews = facts.get("reviews_shared")
    if reviews and reviews[1]:  # PRODUCT.md §4.12: how many of last month's reviews reached their clients
        shared, made = reviews
        notes.append(f"{shared} of last month's {made} reviews {'was' if shared == 1 else 'were'} shared with the "
                     "client." if made > 1 else
                     f"Last month's review {'was' if shared else 'was not'} shared with the client.")
    channel = facts.get("referral_channel")
    if channel and channel[1]:
        referring, active = channel
        notes.append(f"Referral channel: {referring} of {active} active clients referred someone in the last 12 "
                     f"months ({round(100 * referring / active)}%)." if active > 1 else
                     f"Referral channel: the 1 active client {'referred someone' if referring else 'referred nobody'} "
                     "in the last 12 months.")
    return notes
