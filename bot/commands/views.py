"""Commands that only read: help, status (the client card) and list."""

from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy.orm import Session

from bot.card.client import client_card
from bot.commands.common import find_whole
from bot.commands.usage import DETAILS, EVERYDAY, GROUPS, KINDS_HELP, SUMMARY, TOPICS, USAGE, WHEN_HELP
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
from storage.clients import list_clients, quiet_clients
from storage.models import Client
from storage.signs import at_risk_clients

SECTION_MAX = 3000  # Slack's limit for a section's text
LIST_LIMIT = 25
HEALTH_SORT_LIMIT = 2000  # 'by health' ranks at most this many candidates
CURRENT = ("active", "prospect", "paused")


def cmd_help(session: Session, ctx: Context, args: str) -> b.Reply:
    """`/client help`: the few commands everyone needs, then the rest by what they are for, each a name to ask
    about; `/client help <command>`: how to use that one."""
    asked = args.strip().lower().removeprefix("/client ").strip()
    if asked:
        return _help_on(asked)
    everyday = "\n".join(f"`{USAGE[name]}`\n{SUMMARY[name]}" for name in EVERYDAY if name in USAGE)
    grouped = {name for _, names in GROUPS for name in names}
    groups = [(title, [n for n in names if n in USAGE]) for title, names in GROUPS]
    groups.append(("More", [n for n in USAGE if n not in grouped]))
    rest = "\n".join(f"*{title}*: " + " · ".join(f"`{name}`" for name in names) for title, names in groups if names)
    return b.reply(
        "Rapport: the /client commands. /client help <command> shows how to use one.",
        b.header("Rapport keeps your client relationships warm"),
        _section("*Every day*\n`/client` alone opens the form to log a touch.\n" + everyday),
        _section("*Everything else*, by what it is for:\n" + rest),
        b.context("`/client help <command>` shows how to use one, with an example: `/client help promise`. "
                  "`/client help kinds` and `/client help dates` list what you can type for a kind and a day."),
    )


def _section(text: str) -> b.Block:
    """Whole: help is never cut (tests/test_help.py holds every one of them to SECTION_MAX)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _help_on(asked: str) -> b.Reply:
    if asked in TOPICS:
        return b.reply(TOPICS[asked], _section(TOPICS[asked]))
    name = "referral" if asked == "refer" else asked
    if name not in USAGE:
        close = difflib.get_close_matches(name, [*USAGE, *TOPICS], n=1)
        hint = f" Did you mean `/client help {close[0]}`?" if close else ""
        raise CommandError(f"There is no /client command called {asked!r}.{hint} `/client help` lists them all.",
                           USAGE["help"])
    text = f"`{USAGE[name]}`\n{SUMMARY[name][:1].upper()}{SUMMARY[name][1:]}."
    if name in DETAILS:
        text += "\n" + DETAILS[name]
    blocks = [_section(text)]
    if name == "log":
        blocks.append(b.context(KINDS_HELP + " " + WHEN_HELP))
    return b.reply(f"{USAGE[name]}: {SUMMARY[name]}", *blocks)


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
    title = {"current": "Clients", "mine": "Your clients", "quiet": "Gone quiet", "at-risk": "2+ warning signs",
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
