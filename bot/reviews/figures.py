"""A client's month in figures (PRODUCT.md §4.12): the same figures every month, zeros included, worked out for a
page of clients from a few grouped queries. The result is plain JSON: it is what a month freezes.

Decisions where the product is silent:
- a two-way touch (a call, a meeting) counts on both sides: from them and from us;
- a question is a client's message in a linked channel opening a wait (the first since our last message there);
  its answer time is the business time to our next message in that channel; it is left unanswered when no answer
  came and it has waited `reply_hours` business hours (a question asked minutes ago is not yet a failure);
- promises are counted in the month they were due: kept on time (by their day), kept late (after it, within the
  month), missed (not kept when the month ended);
- status updates owed on an issue: one per `update_every` business days it was open in the month; given: the
  touches from us in those days.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.goals.risk import RISK_WINDOW, is_at_risk
from bot.handoffs.closeout import ITEMS as CLOSEOUT_ITEMS
from bot.relationship.facts import history_start, next_checkin
from bot.relationship.health import WINDOW, Health, HealthInput, assess
from bot.relationship.kinds import LABELS, WARNING_SIGNS
from bot.reviews.calibration import calibration_of
from bot.reviews.months import Month, month_of, shift
from bot.settings import BusinessHours, Settings, business_time_between
from storage.models import Client, Closeout, CloseoutTick, Commitment, Goal, GoalCheck
from storage.reviews import (
    Touch,
    closeouts_touching,
    commitments_touching,
    goal_checks_before,
    goals_touching,
    interactions_between,
    referral_dates_between,
)

VERSION = 1
HISTORY_MONTHS = 6  # this month's health label and the five before it
FROM_THEM = ("in", "both")
FROM_US = ("out", "both")
CAPTURED = "slack"
ISSUE_OLD = timedelta(days=7)


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo
    hours: BusinessHours = Settings.business_hours
    reply_hours: int = Settings.reply_hours
    update_every: int = Settings.update_every

    @classmethod
    def of(cls, settings: Settings, tz: ZoneInfo) -> Rules:
        return cls(tz, settings.business_hours, settings.reply_hours, settings.update_every)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def compute(session: Session, clients: Sequence[Client], key: str, now: datetime, rules: Rules,
            previous: Mapping[int, dict[str, Any]] | None = None) -> dict[int, dict[str, Any]]:
    """Each client's figures for month `key` as of `now` (a month not over yet is counted up to `now`: 'so far').
    `previous`: the month before's frozen figures by client, where there are some: the five earlier health labels
    and last month's signals are read from them as they were shown then, instead of being worked out again."""
    month = month_of(key, rules.tz)
    until = min(month.end, now + timedelta(seconds=1))  # so far: what happened up to and including now
    months = [month_of(shift(key, -back), rules.tz) for back in range(HISTORY_MONTHS - 1, -1, -1)]
    ids = [c.id for c in clients]
    earliest = months[0].end - WINDOW - timedelta(days=31)
    touches: dict[int, list[Touch]] = defaultdict(list)
    for row in interactions_between(session, ids, min(earliest, months[0].start), until):
        touches[row.client_id].append(row)
    referrals: dict[int, list[datetime]] = defaultdict(list)
    for client_id, at in referral_dates_between(session, ids, earliest, until):
        referrals[client_id].append(at)
    owed: dict[int, list[Commitment]] = defaultdict(list)
    for commitment in commitments_touching(session, ids, months[0].start, until, months[0].first_day):
        owed[commitment.client_id].append(commitment)
    goals: dict[int, list[Goal]] = defaultdict(list)
    for goal in goals_touching(session, ids, month.start, until):
        goals[goal.client_id].append(goal)
    checks: dict[int, list[GoalCheck]] = defaultdict(list)
    for check in goal_checks_before(session, [g.id for gs in goals.values() for g in gs], until):
        checks[check.goal_id].append(check)
    closeouts: dict[int, list[tuple[Closeout, list[CloseoutTick]]]] = defaultdict(list)
    for closeout, ticks in closeouts_touching(session, ids, month.start, until):
        closeouts[closeout.client_id].append((closeout, ticks))
    earlier = previous or {}
    # one query per owner on the page, not per client
    calibration = {key: calibration_of(session, key[0], key[1], until)
                   for key in {(c.workspace_id, c.owner_id) for c in clients}}
    return {client.id: _figures(client, month, months, until, now, rules, touches[client.id],
                                referrals[client.id], owed[client.id], goals[client.id], checks,
                                calibration[client.workspace_id, client.owner_id], earlier.get(client.id),
                                closeouts[client.id])
            for client in clients}


def _figures(client: Client, month: Month, months: list[Month], until: datetime, now: datetime, rules: Rules,
             touches: list[Touch], referrals: list[datetime], owed: list[Commitment], goals: list[Goal],
             checks: dict[int, list[GoalCheck]], calibration: str | None, before: dict[str, Any] | None,
             closeouts: list[tuple[Closeout, list[CloseoutTick]]]) -> dict[str, Any]:
    contact = _contact(touches, month, months, until, rules)
    commitments = _commitments(owed, touches, month, until, rules)
    goal_figures = _goals(goals, checks, month, until)
    health = _health(client, touches, referrals, owed, goals, months, until, before)
    signs = [{"kind": LABELS.get(t.kind, t.kind), "at": _iso(t.occurred_at)} for t in touches
             if t.kind in WARNING_SIGNS and month.start <= t.occurred_at < until]
    # an issue two updates behind is a warning sign too (late promises are listed on their own)
    signs += [{"kind": "issue without news", "at": _iso(c.late_since)}
              for c in owed if c.kind == "issue" and c.late_since is not None and month.start <= c.late_since < until]
    wrong = {
        "late": commitments["late_items"], "missed": commitments["missed_items"], "signs": signs,
        "unanswered": contact["unanswered_items"], "goals_at_risk": [g["what"] for g in goal_figures["items"]
                                                                    if g["at_risk"]],
    }
    open_at_end = [c for c in owed if c.created_at < until and (c.done_at is None or c.done_at >= until)]
    due = next_checkin(client)
    return {
        "version": VERSION, "month": month.key, "so_far": until < month.end, "as_of": _iso(until),
        "client": client.name, "owner": client.owner_id, "status": client.status,
        "contact": contact, "commitments": commitments, "goals": {**goal_figures, "calibration": calibration},
        "health": health, "wrong": wrong,
        "next": {
            "promises": [{"what": c.what, "due": c.due_on.isoformat() if c.due_on else None}
                         for c in open_at_end if c.kind == "promise"],
            "issues": [{"what": c.what, "eta": c.due_on.isoformat() if c.due_on else None,
                        "opened": _iso(c.created_at)} for c in open_at_end if c.kind == "issue"],
            "checkin": _iso(due) if client.status != "former" else None,
            "closeouts": [_closeout(closeout, ticks, until) for closeout, ticks in closeouts],
        },
    }


def _closeout(closeout: Closeout, ticks: list[CloseoutTick], until: datetime) -> dict[str, Any]:
    """A project's closeout as it stood at the month's end: the items ticked (by whom, when) and those left."""
    ticked = {tick.item: tick for tick in ticks}
    return {"opened": _iso(closeout.opened_at),
            "done": _iso(closeout.done_at) if closeout.done_at is not None and closeout.done_at < until else None,
            "ticked": [{"item": words, "by": ticked[key].by, "at": _iso(ticked[key].at)}
                       for key, words in CLOSEOUT_ITEMS if key in ticked],
            "left": [words for key, words in CLOSEOUT_ITEMS if key not in ticked]}


def _sides(touches: Sequence[Touch], start: datetime, end: datetime) -> tuple[int, int]:
    inside = [t for t in touches if start <= t.occurred_at < end]
    return (sum(1 for t in inside if t.direction in FROM_THEM), sum(1 for t in inside if t.direction in FROM_US))


def _contact(touches: list[Touch], month: Month, months: list[Month], until: datetime, rules: Rules
             ) -> dict[str, Any]:
    theirs, ours = _sides(touches, month.start, until)
    last = months[-2]
    last_theirs, last_ours = _sides(touches, last.start, last.end)
    before = [_sides(touches, m.start, m.end) for m in months[-4:-1]]
    by_month = [{"month": m.key, "in": s[0], "out": s[1]}
                for m, s in ((m, _sides(touches, m.start, min(m.end, until))) for m in months)]
    waits, unanswered = _questions(touches, month, until, rules)
    return {
        "in": theirs, "out": ours, "in_last": last_theirs, "out_last": last_ours,
        "in_avg3": round(sum(s[0] for s in before) / 3, 1), "out_avg3": round(sum(s[1] for s in before) / 3, 1),
        "answered": len(waits),
        "answer_median_minutes": round(statistics.median(waits)) if waits else None,
        "unanswered": len(unanswered), "unanswered_items": unanswered, "by_month": by_month,
    }


def _questions(touches: list[Touch], month: Month, until: datetime, rules: Rules
               ) -> tuple[list[float], list[dict[str, Any]]]:
    """Business minutes to each answer, and the questions left without one, for questions asked this month."""
    waits: list[float] = []
    unanswered: list[dict[str, Any]] = []
    by_channel: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        if touch.source == CAPTURED and touch.channel_id and touch.direction in ("in", "out"):
            by_channel[touch.channel_id].append(touch)
    for channel, messages in by_channel.items():
        asked: Touch | None = None
        for message in messages:
            if message.direction == "in" and asked is None:
                asked = message
            elif message.direction == "out" and asked is not None:
                if month.start <= asked.occurred_at < until:
                    waited = business_time_between(asked.occurred_at, message.occurred_at, rules.hours, rules.tz)
                    waits.append(waited.total_seconds() / 60)
                asked = None
        if asked is not None and month.start <= asked.occurred_at < until and \
                business_time_between(asked.occurred_at, until, rules.hours, rules.tz) >= \
                timedelta(hours=rules.reply_hours):
            unanswered.append({"at": _iso(asked.occurred_at), "channel": channel, "permalink": asked.permalink})
    unanswered.sort(key=lambda q: q["at"] or "")
    return waits, unanswered


def _workdays(start: datetime, end: datetime, rules: Rules) -> int:
    first, last = _local_day(start, rules.tz), _local_day(end, rules.tz)
    return sum(1 for n in range(1, (last - first).days + 1)
               if (first + timedelta(days=n)).weekday() in rules.hours.days)


def _commitments(owed: list[Commitment], touches: list[Touch], month: Month, until: datetime, rules: Rules
                 ) -> dict[str, Any]:
    today = _local_day(until - timedelta(microseconds=1), rules.tz)
    on_time, late, missed = 0, [], []
    for c in owed:
        if c.kind != "promise" or c.due_on is None or not month.first_day <= c.due_on <= month.last_day:
            continue
        done = _local_day(c.done_at, rules.tz) if c.done_at is not None and c.done_at < until else None
        if done is not None and done <= c.due_on:
            on_time += 1
        elif done is not None:
            late.append({"what": c.what, "due": c.due_on.isoformat(), "kept": done.isoformat()})
        elif c.due_on < today or until >= month.end:
            missed.append({"what": c.what, "due": c.due_on.isoformat()})
    issues = [c for c in owed if c.kind == "issue"]
    ours = [t.occurred_at for t in touches if t.direction in FROM_US]
    updates_owed = updates_given = 0
    for issue in issues:
        start = max(issue.created_at, month.start)
        end = min(issue.done_at or until, until)
        if end <= start:
            continue
        updates_owed += _workdays(start, end, rules) // rules.update_every
        updates_given += sum(1 for at in ours if start < at < end)
    return {
        "kept_on_time": on_time, "kept_late": len(late), "missed": len(missed),
        "late_items": late, "missed_items": missed,
        "issues_opened": sum(1 for c in issues if month.start <= c.created_at < until),
        "issues_resolved": sum(1 for c in issues if c.done_at is not None and month.start <= c.done_at < until),
        "issues_open_over_7d": sum(1 for c in issues if (c.done_at is None or c.done_at >= until)
                                   and c.created_at <= until - ISSUE_OLD),
        "updates_owed": updates_owed, "updates_given": updates_given,
    }


def _goals(goals: list[Goal], checks: dict[int, list[GoalCheck]], month: Month, until: datetime) -> dict[str, Any]:
    items = []
    for goal in goals:
        answers = checks.get(goal.id, [])
        latest = answers[-1].confidence if answers else None
        if latest is None and goal.confidence is not None and goal.confidence_at is not None \
                and goal.confidence_at < until:
            latest = goal.confidence
        closed = goal.status if goal.closed_at is not None and month.start <= goal.closed_at < until else None
        still_open = goal.closed_at is None or goal.closed_at >= until
        recent = [a.confidence for a in answers if answers[-1].at - a.at <= RISK_WINDOW]
        at_risk = still_open and ((latest is not None and is_at_risk(latest, recent)) or (
            goal.at_risk_since is not None and goal.at_risk_since < until))
        trend = [a.confidence for a in answers if a.at >= month.start][-5:]
        earlier = [a.confidence for a in answers if a.at < month.start]
        items.append({"what": goal.what, "odds": goal.odds, "due": goal.due_on.isoformat(), "confidence": latest,
                      "trend": trend, "before": earlier[-1] if earlier else None, "direction": _direction(answers),
                      "closed": closed, "at_risk": at_risk})
    return {"items": items, "met": sum(1 for g in items if g["closed"] == "met"),
            "missed": sum(1 for g in items if g["closed"] == "missed"),
            "at_risk": sum(1 for g in items if g["at_risk"])}


def _direction(answers: list[GoalCheck]) -> str:
    if len(answers) < 2:
        return "no trend yet"
    change = answers[-1].confidence - answers[-2].confidence
    return "falling" if change < 0 else "rising" if change > 0 else "steady"


def _health(client: Client, touches: list[Touch], referrals: list[datetime], owed: list[Commitment],
            goals: list[Goal], months: list[Month], until: datetime, before: dict[str, Any] | None) -> dict[str, Any]:
    end = min(months[-1].end, until)
    since = history_start(client)
    now_health = _health_at(client, touches, referrals, owed, goals, end) if since < end else None
    current = {"month": months[-1].key, "label": now_health.label if now_health else None}
    if before is not None and before.get("version") == VERSION and before.get("month") == months[-2].key:
        labels = [*before["health"]["months"][1:], current]
        last: list[bool] | None = [bool(s["now"]) for s in before["health"]["signals"]] or None
    else:
        labels, last = [], None
        for m in months[:-1]:
            m_end = min(m.end, until)
            health = _health_at(client, touches, referrals, owed, goals, m_end) if since < m_end else None
            labels.append({"month": m.key, "label": health.label if health else None})
            last = [ok for _, ok in health.checklist] if health else None
        labels.append(current)
    signals = [{"signal": text, "now": ok, "last": last[index] if last else None}
               for index, (text, ok) in enumerate(now_health.checklist)] if now_health else []
    return {"label": now_health.label if now_health else None, "facts": list(now_health.facts) if now_health else [],
            "months": labels, "signals": signals}


def _health_at(client: Client, touches: list[Touch], referrals: list[datetime], owed: list[Commitment],
               goals: list[Goal], end: datetime) -> Health:
    """The label as it stood at `end`, from the 180 days before it (bot.relationship.health), counting a goal at risk
    as the card does (a goal keeps only when its current spell of risk began, so an earlier spell is not seen)."""
    before = [t for t in touches if t.occurred_at < end]
    window = [t for t in before if t.occurred_at >= end - WINDOW]
    kinds: dict[str, int] = {}
    for t in window:
        kinds[t.kind] = kinds.get(t.kind, 0) + 1
    theirs = [t.occurred_at for t in before if t.direction in FROM_THEM]
    last_theirs = max(theirs, default=None)
    outs = [t for t in before if t.direction == "out" and (last_theirs is None or t.occurred_at > last_theirs)]
    late = [c for c in owed if c.late_since is not None and end - timedelta(days=30) <= c.late_since < end
            and (c.done_at is None or c.done_at >= end)]
    return assess(HealthInput(
        kinds=kinds, referrals=sum(1 for r in referrals if end - WINDOW <= r < end),
        warning_signs_30d=sum(1 for t in before
                              if t.kind in WARNING_SIGNS and t.occurred_at >= end - timedelta(days=30)),
        silent_days=max(0, (end - (last_theirs or history_start(client))).days), heard_ever=last_theirs is not None,
        quiet_threshold=client.quiet_threshold_days, unanswered=len(outs), late_commitments=len(late),
        goals_at_risk=sum(1 for g in goals if g.at_risk_since is not None
                          and end - timedelta(days=30) <= g.at_risk_since < end
                          and (g.closed_at is None or g.closed_at >= end))))


def wrong_count(figures: dict[str, Any]) -> int:
    """How many things went wrong: 'nothing' only when this is zero."""
    return sum(len(items) for items in figures["wrong"].values())
