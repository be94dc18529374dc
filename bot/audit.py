"""Who changed what: the commands that create, rename, end, forget a client, change its owner, or change a
setting append an entry; `status` shows a client's latest and `rapport audit` exports them all."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from sqlalchemy.orm import Session

from bot.slack import blocks as b
from bot.spreadsheet import safe_cell
from storage.audit import add_audit_event, audit_events
from storage.clients import all_clients
from storage.models import AuditEvent, Workspace

SHOWN_IN_STATUS = 5
COLUMNS = ("at", "client_id", "client", "actor", "action", "detail")  # `rapport audit`'s CSV
# Actions whose detail is a Slack id to show as a mention; every other detail is plain text.
USER_DETAIL = frozenset({"owner", "handoff"})
CHANNEL_DETAIL = frozenset({"channel", "default_channel", "linked", "unlinked"})
WORDS = {
    "created": "added the client", "imported": "imported the client", "renamed": "renamed it",
    "owner": "made the owner", "channel": "set its nudge channel to", "default_channel": "set the default channel to",
    "checkin": "set check-ins", "ended": "ended the relationship", "reactivated": "reactivated it",
    "opted_out": "recorded that they opted out", "forgotten": "forgot the client and all its history",
    "timezone": "set the workspace's timezone", "value": "set its value",
    "linked": "linked its conversation channel", "unlinked": "unlinked its conversation channel",
    "goal": "agreed a goal", "goal_met": "marked a goal met", "goal_missed": "marked a goal missed",
    "contact": "set a contact", "contact_removed": "removed a contact",
    "handoff": "handed it over to", "closeout": "opened a project closeout", "closeout_tick": "ticked on the closeout",
    "domain": "added its mail domain", "domain_removed": "removed its mail domain",
    "mail_key": "issued a new inbound mail key", "mail_ours": "set the workspace's own mail domains",
}


def record(session: Session, workspace_id: int, actor_id: str, action: str, at: datetime, *,
           client_id: int | None = None, detail: str = "") -> None:
    assert action in WORDS, action
    add_audit_event(session, workspace_id, client_id, actor_id, action, detail[:300], at)


def describe(event: AuditEvent) -> list[b.Element | str]:
    parts: list[b.Element | str] = [b.date(event.at), " · ", b.user(event.actor_id), " " + WORDS[event.action]]
    if event.action in USER_DETAIL and event.detail:
        parts += [" ", b.user(event.detail)]
    elif event.action in CHANNEL_DETAIL:
        parts += [" ", b.channel(event.detail)] if event.detail else [" the default"]
    elif event.detail:
        parts += [": ", b.text(event.detail)]
    return parts


def status_section(session: Session, workspace_id: int, client_id: int) -> list[b.Block]:
    events = audit_events(session, workspace_id, client_id, limit=SHOWN_IN_STATUS)
    if not events:
        return []
    return [b.rich(b.line(b.text("Changes", bold=True)), b.bullets([b.line(*describe(e)) for e in events]))]


def export(session: Session, workspace: Workspace, out: TextIO) -> int:
    """Every entry of one workspace, oldest first, as CSV."""
    names = {c.id: c.name for c in all_clients(session, workspace.id)}
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    events = list(reversed(audit_events(session, workspace.id)))
    for e in events:
        cells = [e.at.isoformat(), e.client_id or "", names.get(e.client_id or 0, ""), e.actor_id, e.action,
                 e.detail]
        writer.writerow([safe_cell(c) if isinstance(c, str) else c for c in cells])
    return len(events)
