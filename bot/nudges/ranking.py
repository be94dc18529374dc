"""Focus ranking (PRODUCT.md §4.8): which waiting clients each person hears about today, and why.

The rules decide what is due; this decides what is said. Pure functions of what is due for a client, its
value, its recent cards, how long it has waited and `now`. Every weight is in this file.

Expected loss = value × how strongly the signal predicts losing the client × how overdue it is:
- value: the client's own (a year, any currency); unset counts as the workspace median, so nobody has to
  fill it in; with no values at all every client weighs the same;
- strength (STRENGTH): at risk > unanswered > an overdue promise or a client waiting on an answer > quiet >
  check-in due > thanks > former-client touch;
- overdue: 1 on the day a reason falls due, rising evenly to 2 at 60 days overdue (kept below the gap between
  signals, so at equal value a long-ignored quiet client never outranks one at risk).
A client due for several reasons adds them up: each is another way to lose it. Then:
- fatigue: × 0.5 for each card about the client marked *Not relevant* in the last 60 days, and × 0.75 for
  each card left without any action in the last 30 days;
- starvation: × (1 + 0.1 for each workday it has waited without a card).

Waiting is counted in workdays from the first workday a reason could have been shown (something that falls due
on a Saturday, or after business hours, could first be shown the next workday).

The day's order, in three lanes:
1. an at-risk signal, or a promise coming due or overdue, on its first workday: that is its deadline (one not
   shown then, because the budget was full of others, ranks with everything else from the next day, near the
   top by its strength);
2. anything that has waited 8 workdays without a card, longest-waiting first: the guarantee that nothing
   waits more than 10 workdays (two days' slack for a day whose budget the first lane fills) or, behind a
   larger backlog, longer than that backlog takes at the budget's pace;
3. everything else.
Lanes 1 and 3 go by score; ties go to the client that has waited longer, then to the lower id, so the order
is the same every time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from bot.nudges.rules import workdays_after

# How strongly each reason predicts losing the client.
STRENGTH = {
    "at_risk": 1.0,
    "unanswered": 0.7,
    "promise": 0.5,  # a promise of ours overdue (§4.10)
    "issue": 0.5,  # a client waiting on us for news (§4.10)
    "eta": 0.5,  # an estimate we gave has passed (§4.10)
    "reply": 0.5,  # a client's message nobody answered (§4.9)
    "heads_up": 0.5,  # the advocate not told of a talk with a sponsor (§4.13): trust
    "quiet": 0.4,
    "advocate": 0.4,
    "checkin": 0.25,
    "thank": 0.15,
    "winback": 0.05,
    "goal_risk": 1.0,  # a goal at risk (§4.11): the trust a client loses first, like warning signs
    "goal_due": 0.5,  # a goal past its date: met or missed?
    "goal_check": 0.25,  # the weekly confidence question
    # handoffs and closeouts (§4.13): a new owner not yet introduced is a client at the edge of going quiet
    "intro": 0.4,
    "intro_reminder": 0.4,
    "handoff_checkin": 0.25,
    "closeout": 0.2,
    "referable": 0.01,  # the referral channel (§4.14): ranked below everything else
}
OVERDUE_MAX = 2.0
OVERDUE_FULL = timedelta(days=60)  # overdue this long reaches OVERDUE_MAX
NOT_RELEVANT_FACTOR = 0.5
NOT_RELEVANT_WINDOW = timedelta(days=60)
IGNORED_FACTOR = 0.75
IGNORED_WINDOW = timedelta(days=30)
STARVATION_PER_WORKDAY = 0.1
# lane 1: said on their first workday (a promise's card is about tomorrow: a day later it is too late)
# and a goal's weekly question on its first workday, when it is asked; the advocate's heads-up (trust)
URGENT_KINDS = frozenset({"at_risk", "promise", "goal_risk", "goal_check", "heads_up"})
STARVING_AFTER_WORKDAYS = 8  # lane 2
GUARANTEE_WORKDAYS = 10  # what lane 2 keeps (docs/explanation/health-and-ranking.md, card wording)

LANE_URGENT, LANE_STARVING, LANE_RANKED = 1, 2, 3

# How each reason reads in a card's "Why today: …" line, in words a person uses
PHRASES = {
    "at_risk": "2+ warning signs", "unanswered": "no reply lately", "promise": "a promise coming due",
    "issue": "a client waiting for news", "eta": "an estimate passed",
    "reply": "a question waiting for an answer", "quiet": "gone quiet",
    "advocate": "their advocate went quiet", "checkin": "a check-in due", "thank": "a referrer to thank",
    "winback": "a former client to keep warm",
    "goal_risk": "a goal at risk", "goal_due": "a goal to mark met or missed", "goal_check": "a goal to rate",
    "heads_up": "an advocate owed a heads-up",
    "intro": "an introduction to make after a handoff",
    "intro_reminder": "an introduction still to make", "handoff_checkin": "a check-in after a handoff",
    "closeout": "a closeout to finish", "referable": "a good moment to make referring easy",
}


@dataclass(frozen=True)
class Reason:
    kind: str
    due_at: datetime
    planned_at: datetime  # when Rapport first saw it due: waiting starts here


@dataclass(frozen=True)
class Candidate:
    """A client with reasons due and no card yet."""

    client_id: int
    value: int | None
    reasons: tuple[Reason, ...]
    not_relevant: int = 0  # its cards marked Not relevant within NOT_RELEVANT_WINDOW
    ignored: int = 0  # its cards left without action within IGNORED_WINDOW

    @property
    def waiting_since(self) -> datetime:
        return min(r.planned_at for r in self.reasons)


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: float
    lane: int
    waited: int  # workdays without a card
    top: Reason  # the reason with the largest expected loss

    def order(self) -> tuple[float, ...]:
        """Sort key, smallest first."""
        since = self.candidate.waiting_since.timestamp()
        if self.lane == LANE_STARVING:
            return (self.lane, since, -self.score, self.candidate.client_id)
        return (self.lane, -self.score, since, self.candidate.client_id)


@dataclass(frozen=True)
class Workweek:
    """The workspace's workdays, in its timezone; `closes` is when business hours end."""

    tz: ZoneInfo
    days: frozenset[int]
    closes: time = time.max

    def first_chance(self, moment: datetime) -> date:
        """The first workday something due at `moment` could be shown."""
        local = moment.astimezone(self.tz)
        day = local.date()
        if day.weekday() in self.days and local.time() < self.closes:
            return day
        day += timedelta(days=1)
        while day.weekday() not in self.days and self.days:
            day += timedelta(days=1)
        return day

    def waited(self, since: datetime, now: datetime) -> int:
        """Workdays after the first one it could have been shown on, up to today."""
        return workdays_after(self.first_chance(since), now.astimezone(self.tz).date(), self.days)


def workdays_between(start: datetime, end: datetime, tz: ZoneInfo, workdays: frozenset[int]) -> int:
    """Workdays after `start`'s day, up to and including `end`'s day, in the workspace's timezone."""
    return workdays_after(start.astimezone(tz).date(), end.astimezone(tz).date(), workdays)


def value_median(values: Sequence[int]) -> float:
    """What an unset value counts as: the workspace's median, or 1 when nobody has set one."""
    return float(median(values)) if values else 1.0


def overdue_factor(due_at: datetime, now: datetime) -> float:
    late = max(timedelta(0), now - due_at)
    return 1.0 + (OVERDUE_MAX - 1.0) * min(1.0, late / OVERDUE_FULL)


def expected_loss(reason: Reason, value: float, now: datetime) -> float:
    return value * STRENGTH.get(reason.kind, STRENGTH["quiet"]) * overdue_factor(reason.due_at, now)


def fatigue(candidate: Candidate) -> float:
    return NOT_RELEVANT_FACTOR ** candidate.not_relevant * IGNORED_FACTOR ** candidate.ignored


def starvation(waited: int) -> float:
    return 1.0 + STARVATION_PER_WORKDAY * waited


def rank(candidate: Candidate, median_value: float, now: datetime, week: Workweek) -> Ranked:
    value = float(candidate.value) if candidate.value is not None else median_value
    losses = [(expected_loss(r, value, now), r) for r in candidate.reasons]
    top = max(losses, key=lambda pair: (pair[0], pair[1].kind))[1]
    waited = week.waited(candidate.waiting_since, now)
    score = sum(loss for loss, _ in losses) * fatigue(candidate) * starvation(waited)
    if any(r.kind in URGENT_KINDS and week.waited(r.planned_at, now) == 0 for r in candidate.reasons):
        lane = LANE_URGENT
    elif waited >= STARVING_AFTER_WORKDAYS:
        lane = LANE_STARVING
    else:
        lane = LANE_RANKED
    return Ranked(candidate, score, lane, waited, top)


def value_standing(value: int | None, values: Sequence[int]) -> str | None:
    """'top 10% by value' and the like, from the workspace's values sorted ascending; None below the top half."""
    if value is None or not values:
        return None
    return value_standing_words(len(values) - bisect_right(values, value), len(values))


def value_standing_words(above: int, total: int) -> str | None:
    """From how many clients are worth more, of how many with a value."""
    if not total:
        return None
    for cut, words in ((0.10, "top 10% by value"), (0.25, "top 25% by value"), (0.50, "top half by value")):
        if above / total < cut:
            return words
    return None


def explain(ranked: Ranked, values: Sequence[int], now: datetime) -> str:
    """One line on the card: why this client today. The card itself says what happened, with its dates."""
    parts = [PHRASES.get(ranked.top.kind, ranked.top.kind)]
    standing = value_standing(ranked.candidate.value, values)
    if standing:
        parts.append(standing)
    if ranked.lane == LANE_STARVING:
        parts.append(f"waited {ranked.waited} workdays, the longest")
    elif ranked.waited >= 2:
        parts.append(f"waited {ranked.waited} workdays")
    if ranked.candidate.not_relevant or ranked.candidate.ignored:
        parts.append("though recent cards about them were set aside")
    return "Why today: " + ", ".join(parts)
