"""Commands that only read: help, status (the client card) and list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.card.client import client_card
from bot.commands.common import find_whole
from bot.commands.usage import KINDS_HELP, SUMMARY, USAGE
from bot.nudges import rules
from bot.relationship.facts import (
    next_checkin,
    warning_window_start,
)
from bot.relationship.health import RANK
from bot.relationship.health_data import health_of
from bot.relationship.kinds import WARNING_SIGNS
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from storage.models import Client
from storage.queries import (
    at_risk_clients,
    list_clients,
    quiet_clients,
)

LIST_LIMIT = 25
HEALTH_SORT_LIMIT = 2000  # 'by health' ranks at most this many candidates
CURRENT = ("active", "prospect", "paused")


def cmd_help(session: Session, ctx: Context, args: str) -> b.Reply:
    rows = [f"`{USAGE[name]}`\n      {SUMMARY[name]}" for name in USAGE]
    half = len(rows) // 2  # a section holds 3,000 characters: every command is listed, in two
    return b.reply(
        "Rapport: /client commands",
        b.header("Rapport keeps your client relationships warm"),
        *({"type": "section", "text": {"type": "mrkdwn", "text": b.clip("\n".join(part), 3000)}}
          for part in (rows[:half], rows[half:])),
        b.context(KINDS_HELP + " When: today, yesterday, 3d ago, 2w ago, monday, 2026-11-02."),
    )


def cmd_status(session: Session, ctx: Context, args: str) -> b.Reply:
    client = find_whole(session, ctx, args, USAGE["status"]).client
    return b.reply(f"{client.name}: {client.status}", *client_card(session, ctx, client))


LIST_FILTERS = ("mine", "quiet", "at-risk", "former", "all")


def cmd_list(session: Session, ctx: Context, args: str) -> b.Reply:
    words = args.strip().lower()
    by_health = words.endswith("by health")
    which = words.removesuffix("by health").strip() or "current"
    if which not in (*LIST_FILTERS, "current", "at risk", "atrisk"):
        raise CommandError(f"I can list {', '.join(LIST_FILTERS)} (add 'by health' to rank them); "
                           f"not {args.strip()!r}.", USAGE["list"])
    which = "at-risk" if which in ("at risk", "atrisk") else which
    now = ctx.now
    risk: dict[int, int] = {}
    limit = HEALTH_SORT_LIMIT if by_health else LIST_LIMIT
    if which == "mine":
        clients, total = list_clients(session, ctx.workspace_id, statuses=CURRENT, owner_id=ctx.user_id,
                                      limit=limit)
    elif which == "quiet":
        clients, total = quiet_clients(session, ctx.workspace_id, now, limit)
    elif which == "at-risk":
        clients, total, risk = at_risk_clients(session, ctx.workspace_id, CURRENT, WARNING_SIGNS,
                                               warning_window_start(now), rules.AT_RISK_SIGNS, limit)
    elif which == "former":
        clients, total = list_clients(session, ctx.workspace_id, statuses=("former",), limit=limit)
    elif which == "all":
        clients, total = list_clients(session, ctx.workspace_id, limit=limit)
    else:
        clients, total = list_clients(session, ctx.workspace_id, statuses=CURRENT, limit=limit)
    title = {"current": "Clients", "mine": "Your clients", "quiet": "Gone quiet", "at-risk": "At risk",
             "former": "Former clients", "all": "All clients"}[which]
    if not clients:
        empty = {"mine": "You don't own any current clients yet. Add one: /client add Acme Corp",
                 "quiet": "Nobody has gone quiet. Nice work.",
                 "at-risk": "No client shows two or more warning signs in the last 30 days.",
                 "former": "No former clients."}.get(which, "No clients yet. Add one: /client add Acme Corp")
        return b.reply(f"{title}: none", b.paragraph(b.text(title, bold=True), ": " + empty))
    health = health_of(session, clients, now)
    order = " · longest silence first"
    if by_health:
        clients = sorted(clients, key=lambda c: (RANK[health[c.id].label], c.name_key))[:LIST_LIMIT]
        order = " · deepest relationships first"
    items = [_list_line(c, now, risk.get(c.id), health[c.id].label) for c in clients]
    blocks = [b.rich(b.line(b.text(f"{title} ({total})", bold=True), order), b.bullets(items))]
    if total > len(clients):
        blocks.append(b.context(f"Showing {len(clients)} of {total}. Narrow it with `/client list mine` "
                                "or open one with `/client status <client>`."))
    return b.reply(f"{title}: {total}", *blocks)


def _list_line(client: Client, now: datetime, signs: int | None, health: str) -> b.Block:
    parts: list[b.Element | str] = [b.text(client.name, bold=True)]
    if client.status != "active":
        parts.append(f" ({client.status})")
    parts += [f" · {health} · ", b.user(client.owner_id), " · "]
    if client.last_their_contact_at:
        parts += ["heard from them ", b.date(client.last_their_contact_at)]
    else:
        parts.append("not heard from yet")
    if client.unanswered_count:
        parts.append(f" · {client.unanswered_count} unanswered")
    due = next_checkin(client)
    if due is not None:
        parts += [" · check-in ", b.date(due)]
    if signs:
        parts.append(f" · {signs} warning signs")
    if client.status == "former" and client.ended_at:
        parts += [" · ended ", b.date(client.ended_at), " · " + rules.describe_winback(
            client.winback_nudges, client.next_winback_at, client.no_winback, client.opted_out)]
    return b.line(*parts)
