"""Planning: turn what is due into outbox rows, once each (PRODUCT.md §4.1–4.5, §5)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.nudges import rules
from bot.nudges.digest import digest_targets, digest_week, sections_by_target
from bot.nudges.focus import scale_of
from bot.nudges.rules import CONTACTABLE
from bot.relationship.facts import cadence
from bot.relationship.kinds import LABELS, WARNING_SIGNS
from bot.settings import BusinessHours, Settings
from bot.workspaces import tz_of
from storage.models import Client, Referral
from storage.queries import (
    all_workspaces,
    due_clients,
    due_referrals,
    existing_dedup_keys,
    has_unsent_nudge,
    insert_nudges,
    primary_contact,
    warning_signs,
)

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Planned:
    kind: str
    client: Client | None  # None for the digest
    dedup_key: str
    due_at: datetime
    facts: dict[str, Any]
    referral: Referral | None = None
    workspace_id: int | None = None


@dataclass
class PlanReport:
    planned: Counter[str] = field(default_factory=Counter)
    nudges: list[Planned] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _days(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)


def _quiet(session: Session, now: datetime) -> list[Planned]:
    found = []
    # quiet means silent for *longer* than the threshold
    for client in due_clients(session, "next_quiet_at", now, CONTACTABLE, strict=True):
        if client.quiet_nudges and has_unsent_nudge(session, client.id, "quiet"):
            # the last one is still waiting (snoozed, or Slack was down): remind a week after it goes out
            client.next_quiet_at = now + rules.QUIET_REMIND_EVERY
            continue
        number = client.quiet_nudges + 1
        spell = client.last_their_contact_at or client.created_at
        contact = primary_contact(session, client.id)
        facts = {"spell": _iso(spell), "heard": _iso(client.last_their_contact_at), "silent_days": _days(spell, now),
                 "threshold": client.quiet_threshold_days, "how": client.quiet_threshold_how, "number": number,
                 "of": rules.QUIET_MAX_NUDGES, "contact": contact.name if contact else None}
        found.append(Planned("quiet", client, f"quiet:{client.id}:{rules.episode_stamp(spell)}:{number}",
                             client.next_quiet_at or now, facts))
        client.quiet_nudges = number
        client.next_quiet_at = rules.after_quiet_nudge(number, now)
    return found


def _unanswered(session: Session, now: datetime) -> list[Planned]:
    found = []
    for client in due_clients(session, "next_unanswered_at", now, CONTACTABLE):
        if client.unanswered_since is None or client.unanswered_count < rules.UNANSWERED_MIN:
            client.next_unanswered_at = None
            continue
        facts = {"count": client.unanswered_count, "since": _iso(client.unanswered_since),
                 "heard": _iso(client.last_their_contact_at)}
        found.append(Planned("unanswered", client,
                             f"unanswered:{client.id}:{rules.episode_stamp(client.unanswered_since)}",
                             client.next_unanswered_at or now, facts))
        client.next_unanswered_at = None
    return found


def _checkin(session: Session, now: datetime) -> list[Planned]:
    found = []
    for client in due_clients(session, "next_checkin_at", now, CONTACTABLE):
        due = client.next_checkin_at or now
        facts = {"every": cadence(client), "last": _iso(client.last_checkin_at), "due": _iso(due)}
        found.append(Planned("checkin", client, f"checkin:{client.id}:{due.date().isoformat()}", due, facts))
        client.next_checkin_at = None
    return found


def _thanks(session: Session, now: datetime) -> list[Planned]:
    found = []
    for referral, referrer, referred in due_referrals(session, now):
        stage = referral.thank_nudges + 1
        facts = {"referred": referred.name, "logged": _iso(referral.created_at),
                 "days": _days(referral.created_at, now), "number": stage}
        found.append(Planned("thank", referrer, f"thank:{referral.id}:{stage}", referral.next_nudge_at or now, facts,
                             referral))
        referral.thank_nudges = stage
        referral.next_nudge_at = rules.thank_due(referral.created_at, stage, now)
    return found


def _at_risk(session: Session, now: datetime) -> list[Planned]:
    found = []
    for client in due_clients(session, "next_at_risk_at", now, CONTACTABLE):
        client.next_at_risk_at = None
        signs = warning_signs(session, client.id, WARNING_SIGNS, now - 2 * rules.WARNING_WINDOW)
        episode = rules.at_risk_episode([s.occurred_at for s in signs], now)
        if episode is None:
            continue
        recent = [s for s in signs if s.occurred_at >= episode]
        facts = {"signs": [{"kind": LABELS[s.kind], "at": _iso(s.occurred_at)} for s in recent]}
        found.append(Planned("at_risk", client, f"at_risk:{client.id}:{rules.episode_stamp(episode)}", now, facts))
    return found


def _advocate(session: Session, now: datetime) -> list[Planned]:
    found = []
    for client in due_clients(session, "next_advocate_at", now, CONTACTABLE, strict=True):
        client.next_advocate_at = None
        contact = primary_contact(session, client.id)
        if contact is None or client.last_primary_contact_at is None:
            continue
        facts = {"contact": contact.name, "heard_from_contact": _iso(client.last_primary_contact_at),
                 "heard": _iso(client.last_their_contact_at), "threshold": client.quiet_threshold_days,
                 "silent_days": _days(client.last_primary_contact_at, now)}
        found.append(Planned("advocate", client,
                             f"advocate:{client.id}:{rules.episode_stamp(client.last_primary_contact_at)}", now, facts))
    return found


def _winback(session: Session, now: datetime) -> list[Planned]:
    found = []
    for client in due_clients(session, "next_winback_at", now, ("former",)):
        if client.opted_out or client.no_winback or client.ended_at is None:
            client.next_winback_at = None
            continue
        number = client.winback_nudges + 1
        facts = {"ended": _iso(client.ended_at), "reason": client.end_reason, "number": number,
                 "of": rules.WINBACK_SOFT_TOUCHES}
        found.append(Planned("winback", client,
                             f"winback:{client.id}:{rules.episode_stamp(client.ended_at)}:{number}",
                             client.next_winback_at or now, facts))
        client.winback_nudges = number
        client.next_winback_at = rules.after_winback(number, now)
    return found


RULES = (_quiet, _unanswered, _checkin, _thanks, _at_risk, _advocate, _winback)


def _digests(session: Session, now: datetime, tz: ZoneInfo, default_channel: str | None,
             when: tuple[int, time], hours: BusinessHours) -> list[Planned]:
    """Once a week per destination; the sections are computed only when that week's digest is new."""
    found = []
    for workspace in all_workspaces(session):
        week = digest_week(now, tz_of(workspace, tz), when)  # Monday 09:00 where the workspace is
        if week is None or workspace.digest_week == week:
            continue  # this week's digests are planned: later sweeps this week cost nothing here
        workspace.digest_week = week
        key = f"digest:{workspace.id}:{{target}}:{week}"
        targets = digest_targets(session, workspace, default_channel)
        fresh = set(targets) - {k.split(":")[2] for k in existing_dedup_keys(
            session, [key.format(target=t) for t in targets])}
        if not fresh:
            continue  # nowhere to send one (no clients, no default channel) or all planned by another sweep
        sections = sections_by_target(session, workspace, now, default_channel,
                                      scale_of(session, workspace, tz, hours))
        for target in sorted(fresh):
            facts = {"target": target, "week": week, **sections.get(target, {"sections": []})}
            found.append(Planned("digest", None, key.format(target=target), now, facts, workspace_id=workspace.id))
    return found


def plan(session: Session, now: datetime, *, dry_run: bool = False, tz: ZoneInfo = UTC_ZONE,
         default_channel: str | None = None, digest: tuple[int, time] | None = None,
         hours: BusinessHours = Settings.business_hours) -> PlanReport:
    """One planning pass in the caller's transaction. With dry_run the caller rolls back; nothing is kept."""
    candidates = [p for rule in RULES for p in rule(session, now)]
    if digest is not None:
        candidates += _digests(session, now, tz, default_channel, digest, hours)
    already = existing_dedup_keys(session, [p.dedup_key for p in candidates])
    fresh = [p for p in candidates if p.dedup_key not in already]
    report = PlanReport()
    if not dry_run:
        rows = [{"workspace_id": p.client.workspace_id if p.client else p.workspace_id,
                 "client_id": p.client.id if p.client else None,
                 "referral_id": p.referral.id if p.referral else None, "kind": p.kind, "dedup_key": p.dedup_key,
                 "due_at": p.due_at, "facts": json.dumps(p.facts), "status": "pending", "attempts": 0,
                 "created_at": now} for p in fresh]
        insert_nudges(session, rows)
    report.nudges = fresh
    report.planned.update(p.kind for p in fresh)
    return report
