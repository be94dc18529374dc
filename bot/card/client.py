"""The client card: everything known about one client, as `/client status`, a card's Open button, the
digest's menu and App Home show it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot import audit
from bot.card.closeout import status_lines as handoff_lines
from bot.card.commitments import describe as describe_commitment
from bot.card.contacts import contact_lines
from bot.card.goals import goal_lines
from bot.card.mail import mail_lines
from bot.nudges import ranking
from bot.relationship.facts import (
    cadence,
    history_start,
    is_snoozed,
    next_checkin,
    quiet_threshold,
    silent_days,
    warning_window_start,
)
from bot.relationship.health_data import health_from, history_of, warning_signs_since
from bot.relationship.kinds import DIRECTION_WORDS, LABELS, LEFT
from bot.relationship.trend import Entry, describe, monthly
from bot.relationship.value import format_value
from bot.slack import blocks as b
from bot.slack.caller import Context
from storage.capture import links_of
from storage.commitments import open_commitments
from storage.goals import open_goals
from storage.interactions import recent_interactions
from storage.models import Client, Commitment
from storage.nudges import recent_nudges
from storage.value import value_median, value_standing

TREND_HISTORY = timedelta(days=400)  # six months, each judged on the 180 days before it
OPEN_NUDGE_DAYS = timedelta(days=14)
NUDGE_WORDS = {"quiet": "gone quiet", "unanswered": "unanswered outreach", "checkin": "check-in due",
               "thank": "thank the referrer", "at_risk": "at risk", "advocate": "their advocate is quiet",
               "reply": "a message waiting for an answer", "promise": "a promise due",
               "issue": "a client waiting for news", "eta": "an estimate passed",
               "goal_check": "how confident in a goal", "goal_risk": "a goal at risk",
               "goal_due": "a goal met or missed",
               "heads_up": "the advocate is owed a heads-up",
               "intro": "introduce the new owner", "intro_reminder": "introduce the new owner",
               "handoff_checkin": "a check-in after the handoff", "closeout": "a closeout unfinished",
               "referable": "a good moment to make referring easy"}
RECENT = 5
NOTE_PREVIEW = 140


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
    # the last 400 days, read once: warning signs, health, the trend, recent touches and a contact's leaving all
    # come from it; what we owe them is read once for its lines and for what of it is late
    commitments, goals_open = open_commitments(session, client.id), open_goals(session, client.id)
    history = history_of(session, client, now - TREND_HISTORY, now, owed=(commitments, goals_open))
    lines += contact_lines(session, client, [i for i in reversed(history.interactions)
                                             if i.kind == LEFT and i.occurred_at >= warning_window_start(now)])
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
    lines += mail_lines(session, client, now)
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
        behind = f", {(now - due).days} days late" if due < now and (now - due).days > 0 else ""
        lines.append(b.line(f"Check-in every {cadence(client)}; next due ", b.date(due), behind + "."))
    else:
        lines.append(b.line("Check-ins: no rhythm set."))
    signs = warning_signs_since(history, warning_window_start(now))
    late = len(history.late)
    goals = sum(1 for kind, _ in history.late if kind == "goal")
    if signs + late:
        ours = f", {late - goals} of them commitments of ours gone late" if late - goals else ""
        ours += f", {goals} of them goals at risk" if goals else ""
        lines.append(b.line(f"Warning signs in the last 30 days: {signs + late}{ours}."))
    lines += commitment_lines(commitments, now.astimezone(ctx.user_tz()).date())
    lines += goal_lines(goals_open, now.astimezone(ctx.user_tz()).date())
    lines += handoff_lines(session, client, now)
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
    for referral in history.open_referrals:
        lines.append(b.line(b.emoji("pray"), " Thank them for introducing ", b.text(referral.referred.name,
                                                                                    bold=True),
                            " (logged ", b.date(referral.created_at), ")"))
    health = health_from(client, history, now)
    checklist = [b.line("✓ " if ok else "✗ ", text) for text, ok in health.checklist]
    entries = [Entry(i.occurred_at, i.kind, i.direction) for i in history.interactions]
    since = history_start(client)
    contacts_line, health_line = describe(monthly(entries, history.referral_dates, since,
                                                  client.quiet_threshold_days, now))
    blocks = [b.header(client.name), b.rich(*lines),
              b.rich(b.line(b.text(f"Health: {health.label}", bold=True), " (last 180 days): " +
                            "; ".join(health.facts) + "."), b.bullets(checklist),
                     b.line(health_line), b.line(contacts_line), _history_line(client, since))]
    # newest first; the history already holds them unless fewer than RECENT touches fall in its 400 days
    recent = (history.interactions[::-1][:RECENT] if len(history.interactions) >= RECENT
              else recent_interactions(session, client.id, RECENT))
    if recent:
        items = []
        for entry in recent:
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


def _history_line(client: Client, since: datetime) -> b.Block:
    """From when Rapport has history, which is not when the client was added when its past was logged or imported
    (PRODUCT.md §6)."""
    if since < client.created_at:
        return b.line("History since ", b.date(since), " (added ", b.date(client.created_at), ").")
    return b.line("History since ", b.date(since), ", when it was added.")


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
