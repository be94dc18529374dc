"""Commands that only read: help, status (the client card) and list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot import audit
from bot.commands.common import find_whole
from bot.commands.usage import KINDS_HELP, SUMMARY, USAGE
from bot.commitments.ledger import describe as describe_commitment
from bot.nudges import ranking, rules
from bot.relationship.facts import (
    cadence,
    is_snoozed,
    next_checkin,
    quiet_threshold,
    silent_days,
    warning_window_start,
)
from bot.relationship.health import RANK
from bot.relationship.health_data import health_of
from bot.relationship.kinds import DIRECTION_WORDS, LABELS, WARNING_SIGNS
from bot.relationship.trend import Entry, describe, monthly
from bot.relationship.value import format_value
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from storage.capture import links_of
from storage.commitments import late_signs_of, open_commitments
from storage.models import Client, Commitment
from storage.queries import (
    clients_with_warning_signs,
    count_warning_signs,
    interactions_since,
    list_clients,
    open_referrals_from,
    primary_contact,
    quiet_clients,
    recent_interactions,
    recent_nudges,
    referral_dates,
    value_median,
    value_standing,
)

LIST_LIMIT = 25
TREND_HISTORY = timedelta(days=400)  # six months, each judged on the 180 days before it
HEALTH_SORT_LIMIT = 2000  # 'by health' ranks at most this many candidates
OPEN_NUDGE_DAYS = timedelta(days=14)
NUDGE_WORDS = {"quiet": "gone quiet", "unanswered": "unanswered outreach", "checkin": "check-in due",
               "thank": "thank the referrer", "at_risk": "at risk", "advocate": "their advocate is quiet",
               "reply": "a message waiting for an answer", "promise": "a promise due",
               "issue": "a client waiting for news", "eta": "an estimate passed"}
RECENT = 5
NOTE_PREVIEW = 140
CURRENT = ("active", "prospect", "paused")


def cmd_help(session: Session, ctx: Context, args: str) -> b.Reply:
    rows = "\n".join(f"`{USAGE[name]}`\n      {SUMMARY[name]}" for name in USAGE)
    return b.reply(
        "Rapport: /client commands",
        b.header("Rapport keeps your client relationships warm"),
        {"type": "section", "text": {"type": "mrkdwn", "text": b.clip(rows, 3000)}},
        b.context(KINDS_HELP + " When: today, yesterday, 3d ago, 2w ago, monday, 2026-11-02."),
    )


def _ago(moment: datetime, ctx: Context) -> str:
    tz = ctx.user_tz()
    days = (ctx.now.astimezone(tz).date() - moment.astimezone(tz).date()).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"


def client_card(session: Session, ctx: Context, client: Client) -> list[b.Block]:
    now = ctx.now
    status = client.status + (" · snoozed" if is_snoozed(client, now) else "")
    top: list[b.Element | str] = [b.text(status.capitalize(), bold=True), " · owner ", b.user(client.owner_id)]
    if client.channel_id:
        top += [" · nudges in ", b.channel(client.channel_id)]
    if client.opted_out:
        top.append(" · opted out")
    lines = [b.line(*top)]
    contact = primary_contact(session, client.id)
    if contact:
        lines.append(b.line("Primary contact: ", b.text(contact.name, bold=True)))
    lines.append(b.line(_value_line(session, client)))
    lines += _conversation_lines(session, client)
    if client.last_contact_at and client.last_contact_direction:
        lines.append(b.line("Last contact: ", b.date(client.last_contact_at),
                            f" ({_ago(client.last_contact_at, ctx)}, "
                            f"{DIRECTION_WORDS[client.last_contact_direction]})"))
    else:
        lines.append(b.line("Last contact: none logged yet"))
    if client.last_their_contact_at:
        lines.append(b.line("Last heard from them: ", b.date(client.last_their_contact_at),
                            f" ({_ago(client.last_their_contact_at, ctx)})"))
    threshold, how = quiet_threshold(client)
    silence = silent_days(client, now)
    quiet_line = f"Counts as quiet after {threshold} days without hearing from them ({how})"
    if silence > threshold:
        quiet_line += f": quiet now, {silence} days"
    lines.append(b.line(quiet_line + "."))
    if client.unanswered_count:
        lines.append(b.line(f"Unanswered outreach: {client.unanswered_count} since ",
                            b.date(client.unanswered_since or now), "."))
    due = next_checkin(client)
    if due is not None:
        overdue = f", overdue by {(now - due).days} days" if due < now and (now - due).days > 0 else ""
        lines.append(b.line(f"Check-in every {cadence(client)}; next due ", b.date(due), overdue + "."))
    else:
        lines.append(b.line("Check-ins: no rhythm set."))
    signs = count_warning_signs(session, client.id, WARNING_SIGNS, warning_window_start(now))
    late = len(late_signs_of(session, [client.id], warning_window_start(now)).get(client.id, []))
    if signs + late:
        risk = " (at risk)" if signs + late >= rules.AT_RISK_SIGNS else ""
        ours = f", {late} of them commitments of ours gone late" if late else ""
        lines.append(b.line(f"Warning signs in the last 30 days: {signs + late}{ours}{risk}."))
    lines += commitment_lines(open_commitments(session, client.id), now.astimezone(ctx.user_tz()).date())
    if client.status == "former" and client.ended_at:
        ended: list[b.Element | str] = ["Former client since ", b.date(client.ended_at)]
        if client.end_reason:
            ended += [": ", b.text(client.end_reason, italic=True)]
        if client.no_winback:
            ended.append(" (no win-back)")
        lines.append(b.line(*ended))
    latest = {n.kind: n for n in recent_nudges(session, client.id, now - OPEN_NUDGE_DAYS)}  # one line per kind
    for nudge in latest.values():
        state: list[b.Element | str] = (["posted ", b.date(nudge.sent_at)] if nudge.status == "sent" and nudge.sent_at
                                        else ["waiting to post"])
        lines.append(b.line(b.emoji("bell"), f" Open nudge: {NUDGE_WORDS.get(nudge.kind, nudge.kind)} (", *state, ")"))
    referrals = open_referrals_from(session, ctx.workspace_id, client.id)
    for referral in referrals:
        lines.append(b.line(b.emoji("pray"), " Thank them for introducing ", b.text(referral.referred.name,
                                                                                    bold=True),
                            " (logged ", b.date(referral.created_at), ")"))
    health = health_of(session, [client], now)[client.id]
    checklist = [b.line("✓ " if ok else "✗ ", text) for text, ok in health.checklist]
    since = now - TREND_HISTORY
    entries = [Entry(i.occurred_at, i.kind, i.direction) for i in interactions_since(session, client.id, since)]
    contacts_line, health_line = describe(monthly(entries, referral_dates(session, client.id, since),
                                                  client.created_at, client.quiet_threshold_days, now))
    blocks = [b.header(client.name), b.rich(*lines),
              b.rich(b.line(b.text(f"Health: {health.label}", bold=True), " (last 180 days): " +
                            "; ".join(health.facts) + "."), b.bullets(checklist),
                     b.line(health_line), b.line(contacts_line))]
    history = recent_interactions(session, client.id, RECENT)
    if history:
        items = []
        for entry in history:
            parts: list[b.Element | str] = [b.date(entry.occurred_at), " · ", b.text(LABELS[entry.kind], bold=True)]
            if entry.direction:
                parts.append(f" ({DIRECTION_WORDS[entry.direction]})")
            if entry.source and entry.channel_id:
                parts += [" · Slack, ", b.channel(entry.channel_id)]
            if entry.note:
                parts += [" · ", b.text(b.clip(entry.note, NOTE_PREVIEW), italic=True)]
            items.append(b.line(*parts))
        blocks += [b.divider(), b.rich(b.line(b.text("Recent", bold=True)), b.bullets(items))]
    return blocks + audit.status_section(session, ctx.workspace_id, client.id)


def commitment_lines(commitments: Sequence[Commitment], today: date) -> list[b.Block]:
    """What we owe them (PRODUCT.md §4.10): each open promise and issue, one line each."""
    return [b.line(b.emoji("handshake" if c.kind == "promise" else "hammer_and_wrench"),
                   " Promised: " if c.kind == "promise" else " Open issue: ", *describe_commitment(c, today))
            for c in commitments]


def _conversation_lines(session: Session, client: Client) -> list[b.Block]:
    """Its linked channels, and a question of theirs still waiting there for an answer (PRODUCT.md §4.9)."""
    links = links_of(session, client.id)
    if not links:
        return []
    parts: list[b.Element | str] = ["Conversation channels: "]
    for index, link in enumerate(links):
        parts += [", " if index else "", b.channel(link.channel_id),
                  " (shared with them)" if link.shared else " (not shared with them yet: not counted)"]
    lines = [b.line(*parts)]
    for link in links:
        if link.asked_at and link.asked_by:
            asked = b.date(link.asked_at, "{date_short_pretty} at {time}")
            lines.append(b.line(b.emoji("speech_balloon"), " Waiting for an answer: ", b.user(link.asked_by),
                                " asked in ", b.channel(link.channel_id), " ", asked, "."))
    return lines


def _value_line(session: Session, client: Client) -> str:
    if client.value is None:
        median = value_median(session, client.workspace_id)
        return "Value: not set" + (f" (ranks as the median, {format_value(round(median))})" if median else "") + "."
    standing = ranking.value_standing_words(*value_standing(session, client.workspace_id, client.value))
    return f"Value: {format_value(client.value)} a year" + (f" ({standing})" if standing else "") + "."


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
    risk = {}
    limit = HEALTH_SORT_LIMIT if by_health else LIST_LIMIT
    if which == "mine":
        clients, total = list_clients(session, ctx.workspace_id, statuses=CURRENT, owner_id=ctx.user_id,
                                      limit=limit)
    elif which == "quiet":
        clients, total = quiet_clients(session, ctx.workspace_id, now, limit)
    elif which == "at-risk":
        risk = clients_with_warning_signs(session, ctx.workspace_id, WARNING_SIGNS, warning_window_start(now),
                                          rules.AT_RISK_SIGNS)
        clients, total = list_clients(session, ctx.workspace_id, statuses=CURRENT, ids=list(risk), limit=limit)
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
