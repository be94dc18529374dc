"""Planning: turn what is due into outbox rows, once each (PRODUCT.md §4.1–4.5, §5).

Each rule works through what is due in batches, each batch a short transaction of its own (PRODUCT.md §7: a
sweep never stands in the way of people): select the next batch of due rows from that rule's index (keyset-
paged, and on PostgreSQL skipping rows another planner holds), read what the batch needs in a few grouped
queries, write its outbox rows and its next due times, commit. Memory holds one batch, whatever the number
due; a pass stopped or killed part-way leaves a consistent outbox, and the next pass carries on (the dedup
keys make repeating any part harmless).
"""

from __future__ import annotations

import json
import logging
import time as clock
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.goals.risk import RISK_WINDOW
from bot.goals.schedule import goal_step, week_of
from bot.nudges import rules
from bot.nudges.digest import digest_targets, digest_week, router
from bot.nudges.digest_sections import sections_by_target
from bot.nudges.focus import scale_of
from bot.nudges.handoff_plans import Due, plan_closeouts, plan_handoffs, plan_referable
from bot.nudges.review_messages import owner_facts
from bot.nudges.rules import CONTACTABLE
from bot.people.heads_up import close as close_heads_up
from bot.people.heads_up import still_owed
from bot.relationship.facts import cadence, spell_start
from bot.relationship.kinds import LABELS, WARNING_SIGNS
from bot.relationship.thresholds import quiet_days
from bot.reviews.figures import Rules
from bot.reviews.freeze import month_to_freeze, prepare_page, store_page
from bot.reviews.months import last_full_key, month_of
from bot.settings import BusinessHours, Settings
from bot.workspaces import tz_of
from storage.capture import due_replies
from storage.commitments import due_commitments, late_signs_of
from storage.contacts import primary_contacts
from storage.db import reading
from storage.due import due_clients
from storage.goals import confidences_since, due_goals, unhandled_nudges_of_goal
from storage.handoffs import due_closeouts, due_handoffs
from storage.leases import due_workspace_ids
from storage.models import Client, Commitment, Contact, Goal, LinkedChannel, Referral, Workspace
from storage.nudges import out_kinds_since, unsent_kind
from storage.outbox import existing_dedup_keys, insert_nudges
from storage.referrals import due_referrals
from storage.reviews import freeze_states, owners_of_month, shared_count
from storage.signs import warning_signs_of
from storage.workspaces import all_workspaces, get_workspace

log = logging.getLogger(__name__)
LATE_KIND = {"promise": "overdue promise", "issue": "issue without news", "goal": "goal at risk"}  # as warning signs
UTC_ZONE = ZoneInfo("UTC")
BATCH = 500  # due rows per transaction: a few hundred milliseconds of work at most


@dataclass(frozen=True)
class Planned:
    kind: str
    client: Client | None  # None for the digest
    dedup_key: str
    due_at: datetime
    facts: dict[str, Any]
    referral: Referral | None = None
    workspace_id: int | None = None
    linked: LinkedChannel | None = None  # the channel a client's question waits in ('reply')
    commitment: Commitment | None = None  # the promise or issue ('promise', 'issue', 'eta')
    goal: Goal | None = None  # the goal ('goal_check', 'goal_risk', 'goal_due')


@dataclass
class PlanReport:
    planned: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    longest_batch_s: float = 0.0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _days(since: datetime, now: datetime) -> int:
    return max(0, (now - since).days)


def _quiet(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    waiting = unsent_kind(session, [c.id for c in clients if c.quiet_nudges], "quiet")
    contacts = primary_contacts(session, [c.id for c in clients])
    for client in clients:
        if client.id in waiting:
            # the last one is still waiting (snoozed, or Slack was down): remind a week after it goes out
            client.next_quiet_at = now + rules.QUIET_REMIND_EVERY
            continue
        number = client.quiet_nudges + 1
        spell = spell_start(client)
        contact = contacts.get(client.id)
        facts = {"spell": _iso(spell), "heard": _iso(client.last_their_contact_at), "silent_days": _days(spell, now),
                 "threshold": quiet_days(client.quiet_threshold_days, spell, client.halved_until),
                 "halved": quiet_days(client.quiet_threshold_days, spell, client.halved_until)
                 != client.quiet_threshold_days,
                 "how": client.quiet_threshold_how, "number": number,
                 "of": rules.QUIET_MAX_NUDGES, "contact": contact.name if contact else None}
        found.append(Planned("quiet", client, f"quiet:{client.id}:{rules.episode_stamp(spell)}:{number}",
                             client.next_quiet_at or now, facts))
        client.quiet_nudges = number
        client.next_quiet_at = rules.after_quiet_nudge(number, now)
    return found


def _unanswered(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    kinds = out_kinds_since(session, {c.id: c.unanswered_since for c in clients if c.unanswered_since is not None})
    for client in clients:
        if client.unanswered_since is None or client.unanswered_count < rules.UNANSWERED_MIN:
            client.next_unanswered_at = None
            continue
        facts = {"count": client.unanswered_count, "since": _iso(client.unanswered_since),
                 "heard": _iso(client.last_their_contact_at), "kinds": kinds.get(client.id, {})}
        found.append(Planned("unanswered", client,
                             f"unanswered:{client.id}:{rules.episode_stamp(client.unanswered_since)}",
                             client.next_unanswered_at or now, facts))
        client.next_unanswered_at = None
    return found


def _checkin(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    for client in clients:
        due = client.next_checkin_at or now
        facts = {"every": cadence(client), "last": _iso(client.last_checkin_at), "due": _iso(due)}
        found.append(Planned("checkin", client, f"checkin:{client.id}:{due.date().isoformat()}", due, facts))
        client.next_checkin_at = None
    return found


def _thanks(session: Session, rows: Sequence[tuple[Referral, Client, Client]], now: datetime) -> list[Planned]:
    found = []
    for referral, referrer, referred in rows:
        stage = referral.thank_nudges + 1
        facts = {"referred": referred.name, "logged": _iso(referral.created_at),
                 "days": _days(referral.created_at, now), "number": stage}
        found.append(Planned("thank", referrer, f"thank:{referral.id}:{stage}", referral.next_nudge_at or now, facts,
                             referral))
        referral.thank_nudges = stage
        referral.next_nudge_at = rules.thank_due(referral.created_at, stage, now)
    return found


def _replies(session: Session, rows: Sequence[tuple[LinkedChannel, Client]], now: datetime, tz: ZoneInfo,
             hours: BusinessHours, reply_hours: int) -> list[Planned]:
    """A client's message in a linked channel that nobody from our side answered within `reply_hours` business
    hours (PRODUCT.md §4.9). One not due yet in business hours is looked at again next sweep."""
    found = []
    for link, client in rows:
        if link.asked_at is None or client.status not in CONTACTABLE:
            link.next_reply_at = None
            continue
        workspace = session.get(Workspace, link.workspace_id)
        zone = tz_of(workspace, tz) if workspace else tz
        if not rules.reply_due(link.asked_at, now, reply_hours, hours, zone):
            continue
        waited = rules.business_time_between(link.asked_at, now, hours, zone)
        facts = {"user": link.asked_by, "channel": link.channel_id, "asked": _iso(link.asked_at), "ts": link.asked_ts,
                 "permalink": link.asked_permalink, "hours": int(waited.total_seconds() // 3600)}
        found.append(Planned("reply", client, f"reply:{link.id}:{link.asked_ts}", now, facts, linked=link))
        link.next_reply_at = None
    return found


def _commitments(session: Session, rows: Sequence[tuple[Commitment, Client]], now: datetime, tz: ZoneInfo,
                 hours: BusinessHours, every: int) -> list[Planned]:
    """Promises due tomorrow or overdue, issues owed a status update or past their estimate (PRODUCT.md §4.10).
    An overdue promise, or an issue two updates behind, is a warning sign: the at-risk rule looks again."""
    found = []
    for commitment, client in rows:
        if client.status not in CONTACTABLE:
            commitment.next_check_at = None
            continue
        workspace = session.get(Workspace, commitment.workspace_id)
        zone = tz_of(workspace, tz) if workspace else tz
        what = {"what": commitment.what}
        if commitment.kind == "promise" and commitment.due_on is not None:
            step = rules.promise_step(commitment.due_on, commitment.created_at, commitment.reminders, now, hours,
                                      zone)
            facts = {**what, "due": commitment.due_on.isoformat(), "stage": step.stage, "number": step.number,
                     "of": rules.PROMISE_LATE_REMINDERS, "days": (now.astimezone(zone).date() - commitment.due_on).days}
            if step.stage == "soon":
                found.append(Planned("promise", client, f"promise:{commitment.id}:soon", now, facts,
                                     commitment=commitment))
            elif step.stage == "late":
                found.append(Planned("promise", client, f"promise:{commitment.id}:late:{step.number}", now, facts,
                                     commitment=commitment))
                commitment.reminders = step.number
        else:
            since = commitment.update_since or commitment.created_at
            step = rules.issue_step(since, commitment.reminders, now, every, hours, zone)
            if step.stage == "update":
                facts = {**what, "since": _iso(since), "opened": _iso(commitment.created_at), "behind": step.number,
                         "every": every, "updated": since > commitment.created_at}
                found.append(Planned("issue", client, f"issue:{commitment.id}:{rules.episode_stamp(since)}:"
                                     f"{step.number}", now, facts, commitment=commitment))
                commitment.reminders = min(step.number, rules.ISSUE_UPDATE_REMINDERS)
            if commitment.due_on is not None and now.astimezone(zone).date() > commitment.due_on:
                found.append(Planned("eta", client, f"eta:{commitment.id}:{commitment.due_on.isoformat()}", now,
                                     {**what, "eta": commitment.due_on.isoformat()}, commitment=commitment))
            elif commitment.due_on is not None and step.next_check is not None:
                step = rules.Step(step.stage, step.number, min(step.next_check, rules.opening(
                    rules.next_workday(commitment.due_on, hours.days), hours, zone)), step.late_since)
        commitment.next_check_at = step.next_check
        if step.late_since is not None and commitment.late_since is None:
            commitment.late_since = step.late_since
            client.next_at_risk_at = now  # a new warning sign: the at-risk rule looks again
    return found


def _goals(session: Session, rows: Sequence[tuple[Goal, Client]], now: datetime, tz: ZoneInfo,
           hours: BusinessHours) -> list[Planned]:
    """A goal's weekly confidence question on the first workday of each week, its at-risk card once per spell of
    risk, and "met or missed?" once its date has passed (PRODUCT.md §4.11; the rule is bot/goals/schedule.py)."""
    found = []
    for goal, client in rows:
        if client.status not in CONTACTABLE:
            goal.next_check_at = now + rules.QUIET_REMIND_EVERY  # paused: look again next week
            continue
        workspace = session.get(Workspace, goal.workspace_id)
        zone = tz_of(workspace, tz) if workspace else tz
        step = goal_step(goal.due_on, goal.created_at, goal.confidence_at, now, hours, zone)
        facts = {"what": goal.what, "due": goal.due_on.isoformat(), "odds": goal.odds, "confidence": goal.confidence,
                 "confidence_at": _iso(goal.confidence_at)}
        if goal.at_risk_since is not None and step.stage != "due":
            since = goal.confidence_at or goal.at_risk_since
            highest = max(confidences_since(session, goal.id, since - RISK_WINDOW), default=None)
            found.append(Planned("goal_risk", client, f"goal_risk:{goal.id}:{rules.episode_stamp(goal.at_risk_since)}",
                                 now, {**facts, "since": _iso(goal.at_risk_since), "highest": highest}, goal=goal))
        if step.stage == "check":
            week = week_of(now, zone)
            for stale in unhandled_nudges_of_goal(session, goal.id):  # last week's question, never shown
                if stale.kind == "goal_check" and stale.status == "pending" and stale.card_id is None:
                    stale.status, stale.last_error = "dropped", "a new week's question"
            found.append(Planned("goal_check", client, f"goal_check:{goal.id}:{week}", now, {**facts, "week": week},
                                 goal=goal))
        elif step.stage == "due":
            found.append(Planned("goal_due", client, f"goal_due:{goal.id}", now, facts, goal=goal))
        goal.next_check_at = step.next_check
    return found


def _at_risk(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    ids = [c.id for c in clients]
    signs_of = warning_signs_of(session, ids, WARNING_SIGNS, now - 2 * rules.WARNING_WINDOW)
    for client_id, late in late_signs_of(session, ids, now - 2 * rules.WARNING_WINDOW).items():
        signs_of[client_id] = sorted([*signs_of.get(client_id, []), *((LATE_KIND[k], at) for k, at in late)],
                                     key=lambda sign: sign[1])
    for client in clients:
        client.next_at_risk_at = None
        signs = signs_of.get(client.id, [])
        episode = rules.at_risk_episode([at for _, at in signs], now)
        if episode is None:
            continue
        recent = [(kind, at) for kind, at in signs if at >= episode]
        facts = {"signs": [{"kind": LABELS.get(kind, kind), "at": _iso(at)} for kind, at in recent]}
        found.append(Planned("at_risk", client, f"at_risk:{client.id}:{rules.episode_stamp(episode)}", now, facts))
    return found


def _advocate(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    contacts = primary_contacts(session, [c.id for c in clients])
    for client in clients:
        client.next_advocate_at = None
        contact = contacts.get(client.id)
        if contact is None or client.last_primary_contact_at is None:
            continue
        facts = {"contact": contact.name, "heard_from_contact": _iso(client.last_primary_contact_at),
                 "heard": _iso(client.last_their_contact_at), "threshold": client.quiet_threshold_days,
                 "silent_days": _days(client.last_primary_contact_at, now)}
        found.append(Planned("advocate", client,
                             f"advocate:{client.id}:{rules.episode_stamp(client.last_primary_contact_at)}", now, facts))
    return found


def _heads_up(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    """Advocate first (PRODUCT.md §4.13): a business day after a touch with a sponsor, the advocate has still not
    had a touch with us. Their touch since closes the episode instead."""
    found = []
    for client in clients:
        client.next_heads_up_at = None
        since = client.heads_up_since
        advocate = still_owed(session, client)
        if since is None or advocate is None:
            close_heads_up(client)
            continue
        sponsor = session.get(Contact, client.heads_up_sponsor_id) if client.heads_up_sponsor_id else None
        facts = {"advocate": advocate.name, "sponsor": sponsor.name if sponsor else None, "since": _iso(since)}
        found.append(Planned("heads_up", client, f"heads_up:{client.id}:{rules.episode_stamp(since)}", now, facts))
    return found


def _winback(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    found = []
    for client in clients:
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


def _as_planned(rows: Sequence[tuple[Client, Due]], now: datetime) -> list[Planned]:
    return [Planned(due.kind, client, due.key, now, due.facts) for client, due in rows]


def _referable(session: Session, clients: Sequence[Client], now: datetime) -> list[Planned]:
    return _as_planned(plan_referable(session, clients, now), now)


@dataclass(frozen=True)
class ClientRule:
    """A rule over clients: which due column it pages through, and how it plans a batch."""

    column: str
    statuses: tuple[str, ...]
    plan: Callable[[Session, Sequence[Client], datetime], list[Planned]]
    strict: bool = False  # due only once the moment has passed (quiet means *longer* than the threshold)


CLIENT_RULES = (
    ClientRule("next_quiet_at", CONTACTABLE, _quiet, strict=True),
    ClientRule("next_unanswered_at", CONTACTABLE, _unanswered),
    ClientRule("next_checkin_at", CONTACTABLE, _checkin),
    ClientRule("next_at_risk_at", CONTACTABLE, _at_risk),
    ClientRule("next_advocate_at", CONTACTABLE, _advocate, strict=True),
    ClientRule("next_winback_at", ("former",), _winback),
    ClientRule("next_heads_up_at", CONTACTABLE, _heads_up),
    ClientRule("next_referable_at", ("active",), _referable),
)


def plan_digests(sessions: sessionmaker[Session], now: datetime, tz: ZoneInfo, default_channel: str | None,
                 when: tuple[int, time], hours: BusinessHours, dry_run: bool, report: PlanReport,
                 stop: Callable[[], bool], workspace_id: int | None = None) -> None:
    """Once a week per destination. What each says is worked out in chunks of short read transactions; the
    week is then claimed and its digests written in one short transaction (a sweep racing this one that got
    there first wins, and this one's work is dropped)."""
    with reading(sessions) as session:
        workspaces = all_workspaces(session) if workspace_id is None else \
            [w for w in [get_workspace(session, workspace_id)] if w is not None and w.uninstalled_at is None]
    for workspace in workspaces:
        week = digest_week(now, tz_of(workspace, tz), when)  # Monday 09:00 where the workspace is
        if stop() or week is None or workspace.digest_week == week:
            continue  # this week's digests are planned: later sweeps this week cost nothing here
        key = f"digest:{workspace.id}:{{target}}:{week}"
        with reading(sessions) as session:
            targets = digest_targets(session, workspace, default_channel)
            planned = {k.split(":")[2] for k in existing_dedup_keys(session, [key.format(target=t) for t in targets])}
            scale = scale_of(session, workspace, tz, hours)
        fresh = sorted(set(targets) - planned)
        sections = sections_by_target(sessions, workspace, now, router(workspace, default_channel), fresh, scale,
                                     tz_of(workspace, tz)) if fresh else {}
        with _batch(sessions, dry_run, report) as session:
            current = session.get(Workspace, workspace.id)
            if current is None or current.digest_week == week:
                continue
            current.digest_week = week
            shared = shared_count(session, workspace.id, last_full_key(now, tz_of(workspace, tz)))
            _keep(session, [Planned("digest", None, key.format(target=t), now,
                                    {"target": t, "week": week, **sections[t], "reviews_shared": list(shared)},
                                    workspace_id=workspace.id)
                            for t in fresh], now, dry_run, report)


def _client_paging(rule: ClientRule, now: datetime, batch: int, workspace_id: int | None) -> tuple[
        Callable[[Session, tuple[datetime, int] | None], Sequence[Client]], Callable[[Client], tuple[datetime, int]],
        Callable[[Session, Sequence[Client]], list[Planned]]]:
    """How a client rule's due clients are fetched, where a batch stopped, and what is planned for them."""
    def fetch(session: Session, after: tuple[datetime, int] | None) -> Sequence[Client]:
        return due_clients(session, rule.column, now, rule.statuses, strict=rule.strict, after=after, limit=batch,
                           workspace_id=workspace_id)

    def cursor(client: Client) -> tuple[datetime, int]:
        return getattr(client, rule.column), client.id

    def planned(session: Session, clients: Sequence[Client]) -> list[Planned]:
        return rule.plan(session, clients, now)

    return fetch, cursor, planned


def plan(sessions: sessionmaker[Session], now: datetime, *, dry_run: bool = False, tz: ZoneInfo = UTC_ZONE,
         default_channel: str | None = None, digest: tuple[int, time] | None = None,
         hours: BusinessHours = Settings.business_hours, stop: Callable[[], bool] = lambda: False,
         batch: int = BATCH, reply_hours: int = Settings.reply_hours,
         update_every: int = Settings.update_every, workspace_id: int | None = None) -> PlanReport:
    """One planning pass, in batches of `batch` due rows, each committed on its own (with `dry_run`, each
    rolled back: nothing is kept). `stop`: finish the batch in hand and return. `workspace_id`: plan only that
    workspace (the one this process holds the lease of, bot/nudges/leases.py). Commitments go first: a promise
    turning overdue is a warning sign the at-risk rule then sees in the same pass."""
    report = PlanReport()

    def paged(fetch: Callable[[Session, tuple[datetime, int] | None], Sequence[Any]],
              cursor: Callable[[Any], tuple[datetime, int]], planned: Callable[[Session, Sequence[Any]], list[Planned]]
              ) -> None:
        """Due rows a batch at a time, each batch its own transaction, from where the last one stopped."""
        after: tuple[datetime, int] | None = None
        while not stop():
            with _batch(sessions, dry_run, report) as session:
                rows = fetch(session, after)
                if not rows:
                    break
                after = cursor(rows[-1])  # before planning moves it on
                _keep(session, planned(session, rows), now, dry_run, report)

    def by_check(row: tuple[Any, ...]) -> tuple[datetime, int]:
        return row[0].next_check_at, row[0].id

    paged(lambda session, after: due_commitments(session, now, after=after, limit=batch, workspace_id=workspace_id),
          by_check, lambda session, rows: _commitments(session, rows, now, tz, hours, update_every))
    paged(lambda session, after: due_goals(session, now, after=after, limit=batch, workspace_id=workspace_id),
          by_check, lambda session, rows: _goals(session, rows, now, tz, hours))
    for rule in CLIENT_RULES:
        paged(*_client_paging(rule, now, batch, workspace_id))
    paged(lambda session, after: due_referrals(session, now, after=after, limit=batch, workspace_id=workspace_id),
          lambda row: (row[0].next_nudge_at, row[0].id), lambda session, rows: _thanks(session, rows, now))
    # handoffs: the introduction, its reminder, the new owner's check-ins (PRODUCT.md §4.13)
    paged(lambda session, after: due_handoffs(session, now, after=after, limit=batch, workspace_id=workspace_id),
          by_check, lambda session, rows: _as_planned(plan_handoffs(session, rows, now, tz, hours), now))
    # closeouts: what is unticked 5 business days on
    paged(lambda session, after: due_closeouts(session, now, after=after, limit=batch, workspace_id=workspace_id),
          by_check, lambda session, rows: _as_planned(plan_closeouts(session, rows, now, tz, hours), now))
    paged(lambda session, after: due_replies(session, now - timedelta(hours=reply_hours), after=after, limit=batch,
                                             workspace_id=workspace_id),
          lambda row: (row[0].next_reply_at, row[0].id),
          lambda session, rows: _replies(session, rows, now, tz, hours, reply_hours))
    if digest is not None:
        plan_digests(sessions, now, tz, default_channel, digest, hours, dry_run, report, stop, workspace_id)
    _reviews(sessions, now, Rules(tz, hours, reply_hours, update_every), dry_run, report, stop, workspace_id)
    return report


def _reviews(sessions: sessionmaker[Session], now: datetime, defaults: Rules, dry_run: bool, report: PlanReport,
             stop: Callable[[], bool], workspace_id: int | None = None) -> None:
    """Month end (PRODUCT.md §4.12): freeze each workspace's month just ended, a page of clients per short
    transaction, then plan each owner's first-workday message listing their reviews. A dry run freezes nothing
    and counts the messages it would plan."""
    with reading(sessions) as session:
        workspaces = all_workspaces(session) if workspace_id is None else \
            [w for w in [get_workspace(session, workspace_id)] if w is not None and w.uninstalled_at is None]
        states = freeze_states(session, workspace_id)
    for workspace in workspaces:
        review_rules = Rules(tz_of(workspace, defaults.tz), defaults.hours, defaults.reply_hours,
                             defaults.update_every)
        key = month_to_freeze(states.get(workspace.id), now, review_rules)
        if dry_run and key is not None:
            with _batch(sessions, True, report) as session:
                _keep(session, _owner_messages(session, workspace.id, key, now, review_rules), now, True, report)
            continue
        more = key is not None
        while more and not stop():
            assert key is not None
            more = False  # a batch that failed (a deadlock) leaves the rest to the next pass
            with reading(sessions) as session:
                page = prepare_page(session, workspace.id, key, now, review_rules)
            with _batch(sessions, False, report) as session:
                more = store_page(session, workspace.id, key, page, now)
                if not more:
                    _keep(session, _owner_messages(session, workspace.id, key, now, review_rules), now, False,
                          report)


def _owner_messages(session: Session, workspace_id: int, key: str, now: datetime, review_rules: Rules
                    ) -> list[Planned]:
    """One message per owner on the new month's first workday; a month frozen after that day (a new install, a
    long outage) lists nothing: the reviews are there to open with /client review."""
    month = month_of(key, review_rules.tz)
    first = month.last_day + timedelta(days=1)
    workday = first if first.weekday() in review_rules.hours.days else rules.next_workday(first,
                                                                                          review_rules.hours.days)
    if now.astimezone(review_rules.tz).date() > workday:
        return []
    due = rules.opening(workday, review_rules.hours, review_rules.tz)
    return [Planned("reviews", None, f"reviews:{workspace_id}:{owner}:{key}", due, owner_facts(owner, key, clients),
                    workspace_id=workspace_id)
            for owner, clients in owners_of_month(session, workspace_id, month.start, month.end).items()]


def due_workspaces(session: Session, now: datetime, *, tz: ZoneInfo = UTC_ZONE,
                   digest: tuple[int, time] | None = None, reply_hours: int = Settings.reply_hours) -> list[int]:
    """The installed workspaces a pass has anything to plan for, in id order: a rule due a look, or this week's
    digests not yet planned."""
    due = due_workspace_ids(session, now, now - timedelta(hours=reply_hours))
    frozen = freeze_states(session)
    for workspace in all_workspaces(session):  # a month to freeze (bot/reviews/freeze.py)
        if month_to_freeze(frozen.get(workspace.id), now, Rules(tz_of(workspace, tz))) is not None:
            due.add(workspace.id)
    if digest is not None:
        for workspace in all_workspaces(session):
            week = digest_week(now, tz_of(workspace, tz), digest)
            if week is not None and workspace.digest_week != week:
                due.add(workspace.id)
    return sorted(due)


@contextmanager
def _batch(sessions: sessionmaker[Session], dry_run: bool, report: PlanReport) -> Iterator[Session]:
    """One batch's transaction: committed (rolled back in a dry run), retried once more if PostgreSQL picked it
    as a deadlock victim (another planner's work stands)."""
    started = clock.perf_counter()
    session = sessions()
    try:
        yield session
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except OperationalError:
        session.rollback()
        log.info("a planning batch collided with another sweep; the next pass plans it", exc_info=True)
    finally:
        session.close()
        report.batches += 1
        report.longest_batch_s = max(report.longest_batch_s, clock.perf_counter() - started)


def _keep(session: Session, planned: list[Planned], now: datetime, dry_run: bool, report: PlanReport) -> None:
    """Write the batch's outbox rows; count only those that are new (a dedup key planned before is skipped)."""
    if not planned:
        return
    if dry_run:
        already = existing_dedup_keys(session, [p.dedup_key for p in planned])
        report.planned.update(p.kind for p in planned if p.dedup_key not in already)
        return
    rows = [{"workspace_id": p.client.workspace_id if p.client else p.workspace_id,
             "client_id": p.client.id if p.client else None,
             "referral_id": p.referral.id if p.referral else None,
             "linked_channel_id": p.linked.id if p.linked else None,
             "commitment_id": p.commitment.id if p.commitment else None, "goal_id": p.goal.id if p.goal else None,
             "kind": p.kind, "dedup_key": p.dedup_key,
             "due_at": p.due_at, "facts": json.dumps(p.facts), "status": "pending", "attempts": 0,
             "created_at": now} for p in planned]
    report.planned.update(insert_nudges(session, rows))
