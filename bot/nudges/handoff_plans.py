"""Planning the nudges of handoffs, closeouts and the referral channel (PRODUCT.md §4.13-4.14): what each due row
says now, and when its rule looks again. The planner (bot/nudges/planner.py) pages through the due rows and keeps
what these return."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.handoffs import closeout as closeouts
from bot.handoffs import referable
from bot.handoffs.handoff import CHECKIN_DAYS, CHECKIN_KIND, INTRO_REMINDER_WORKDAYS
from bot.nudges.rules import CONTACTABLE, add_workdays, episode_stamp
from bot.settings import BusinessHours
from bot.workspaces import tz_of
from storage.contacts import primary_contact
from storage.handoffs import ticks_of
from storage.models import Client, Closeout, Handoff, Workspace


@dataclass(frozen=True)
class Due:
    """One nudge to plan: its kind, dedup key and facts."""

    kind: str
    key: str
    facts: dict[str, Any]


def after_workdays(start: datetime, count: int, hours: BusinessHours, tz: ZoneInfo) -> datetime:
    """`count` business days after `start`, at the same time of day where the workspace is."""
    local = start.astimezone(tz)
    day: date = add_workdays(local.date(), count, hours.days)
    return local.replace(year=day.year, month=day.month, day=day.day).astimezone(start.tzinfo)


def _zone(session: Session, workspace_id: int, tz: ZoneInfo) -> ZoneInfo:
    workspace = session.get(Workspace, workspace_id)
    return tz_of(workspace, tz) if workspace else tz


def handoff_step(handoff: Handoff, contact: str | None, now: datetime, hours: BusinessHours,
                 tz: ZoneInfo) -> tuple[list[Due], datetime | None]:
    """The introduction card at once, its reminder after 2 business days if the new owner has not been in touch
    with the client, and the new owner's check-ins at 30, 60 and 90 days."""
    due: list[Due] = []
    base = {"from": handoff.from_user, "to": handoff.to_user, "at": handoff.at.isoformat(), "contact": contact}
    reminder_at = after_workdays(handoff.at, INTRO_REMINDER_WORKDAYS, hours, tz)
    waiting = handoff.introduced_at is None
    if waiting and not handoff.intro_reminded:
        if now < reminder_at:
            due.append(Due("intro", f"intro:{handoff.id}", base))
        else:
            due.append(Due("intro_reminder", f"intro_reminder:{handoff.id}", base))
            handoff.intro_reminded = True
    passed = sum(1 for days in CHECKIN_DAYS if now >= handoff.at + timedelta(days=days))
    if passed > handoff.checkins:  # only the latest of several passed at once: one conversation, not three
        days = CHECKIN_DAYS[passed - 1]
        due.append(Due(CHECKIN_KIND, f"{CHECKIN_KIND}:{handoff.id}:{days}",
                       {**base, "days": days, "number": passed, "of": len(CHECKIN_DAYS)}))
        handoff.checkins = passed
    looks = [reminder_at] if waiting and not handoff.intro_reminded else []
    if handoff.checkins < len(CHECKIN_DAYS):
        looks.append(handoff.at + timedelta(days=CHECKIN_DAYS[handoff.checkins]))
    return due, min(looks, default=None)


def plan_handoffs(session: Session, rows: Sequence[tuple[Handoff, Client]], now: datetime, tz: ZoneInfo,
                  hours: BusinessHours) -> list[tuple[Client, Due]]:
    found = []
    for handoff, client in rows:
        if client.status not in CONTACTABLE:
            handoff.next_check_at = None
            continue
        contact = primary_contact(session, client.id)
        due, handoff.next_check_at = handoff_step(handoff, contact.name if contact else None, now, hours,
                                                  _zone(session, handoff.workspace_id, tz))
        found += [(client, d) for d in due]
    return found


def plan_closeouts(session: Session, rows: Sequence[tuple[Closeout, Client]], now: datetime, tz: ZoneInfo,
                   hours: BusinessHours) -> list[tuple[Client, Due]]:
    """What is still unticked 5 business days after a closeout was opened is nudged, once."""
    found = []
    for closeout, client in rows:
        remind_at = after_workdays(closeout.opened_at, closeouts.REMIND_AFTER_WORKDAYS, hours,
                                   _zone(session, closeout.workspace_id, tz))
        if closeout.reminded or client.status not in CONTACTABLE:
            closeout.next_check_at = None
            continue
        if now < remind_at:
            closeout.next_check_at = remind_at
            continue
        left = closeouts.unticked(ticks_of(session, closeout.id))
        closeout.reminded, closeout.next_check_at = True, None
        if left:
            found.append((client, Due(closeouts.KIND, f"{closeouts.KIND}:{closeout.id}",
                                      {"opened": closeout.opened_at.isoformat(), "left": left,
                                       "done": len(closeouts.ITEMS) - len(left), "of": len(closeouts.ITEMS)})))
    return found


def plan_referable(session: Session, clients: Sequence[Client], now: datetime) -> list[tuple[Client, Due]]:
    """The referral channel's card for each client where every condition holds; else a look again tomorrow
    while its win is recent."""
    found = []
    for client in clients:
        standing = referable.standing_of(session, client, now)
        if client.status != "active" or referable.failing(standing, now):
            client.next_referable_at = referable.next_look(standing, now) if client.status == "active" else None
            continue
        found.append((client, Due("referable", f"referable:{client.id}:{episode_stamp(now)}",
                                  {"win": standing.last_win_at.isoformat() if standing.last_win_at else None})))
        client.referable_asked_at, client.next_referable_at = now, None
    return found
