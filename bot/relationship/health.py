"""Relationship health (PRODUCT.md §6): a small deterministic model with its weights in one place.

Input: the last 180 days of one client's history, plus recency, silence and unanswered outreach.
Output: the eight-signal checklist, a label (Deep, Steady, Shallow, At risk) and the facts that decided it.

How the label is decided, in order:
1. **At risk** if there are 2+ warning signs (cancellation, delay, fee dispute, complaint; and, from our side,
   a promise overdue or an issue two status updates behind, PRODUCT.md §4.10) in 30 days, or the client has
   been silent for more than twice its quiet threshold.
2. **Deep** if at least 3 of the six "they do" signals happened (help, acted on advice, referred, forgave,
   involved us in complex matters, involved us early), neither protective signal is broken (no money
   disputes; no last-minute cancellations or delays), nothing we owe them is late, and they are not quiet.
3. **Steady** if we have heard from them and they are not quiet, no outreach is going unanswered, and the
   points below reach 1.
4. **Shallow** otherwise.
Points: +1 for each "they do" signal; -1 for each broken protective signal; +1 if we heard from them
within the quiet threshold, -1 if they are quiet; -1 if 3+ touches from us are unanswered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.relationship.thresholds import AT_RISK_SIGNS

WINDOW = timedelta(days=180)
LABELS = ("Deep", "Steady", "Shallow", "At risk")
RANK = {label: index for index, label in enumerate(LABELS)}  # sorting: deepest first

# (key, checklist wording, kinds that show it). The first six are things they do; the last two hold
# unless something breaks them.
DOING = (
    ("help", "They come to you for help", ("help",)),
    ("acted", "They act on your advice", ("acted",)),
    ("refer", "They refer you", ()),
    ("forgave", "They forgive mistakes", ("forgave",)),
    ("strategic", "They involve you in complex matters", ("strategic",)),
    ("early", "They involve you early when issues form", ("early",)),
)
PROTECTIVE = (
    ("money", "No disputes about money", ("dispute",)),
    ("respect", "They treat you with respect (no last-minute cancellations or delays)", ("cancel", "delay")),
)
WEIGHTS = {"doing": 1, "broken": -1, "recent": 1, "quiet": -1, "unanswered": -1}
DEEP_MIN_DOING = 3
STEADY_MIN_POINTS = 1
SILENCE_FACTOR = 2


@dataclass(frozen=True)
class HealthInput:
    kinds: Mapping[str, int]  # interactions by kind, last 180 days
    referrals: int  # referrals they made, last 180 days
    warning_signs_30d: int
    silent_days: int  # days since they last reached us (or since tracking began)
    heard_ever: bool
    quiet_threshold: int
    unanswered: int  # our touches since they last replied
    late_commitments: int = 0  # ours, late within 30 days: an overdue promise, an issue two updates behind
    goals_at_risk: int = 0  # ours too: a goal at risk within 30 days (§4.11)


@dataclass(frozen=True)
class Health:
    label: str
    checklist: tuple[tuple[str, bool], ...]
    facts: tuple[str, ...]

    @property
    def met(self) -> int:
        return sum(1 for _, ok in self.checklist if ok)


def assess(data: HealthInput) -> Health:
    doing = [(text, data.referrals > 0 if key == "refer" else any(data.kinds.get(k, 0) for k in kinds))
             for key, text, kinds in DOING]
    protective = [(text, not any(data.kinds.get(k, 0) for k in kinds)) for _, text, kinds in PROTECTIVE]
    checklist = tuple(doing + protective)
    doing_count = sum(ok for _, ok in doing)
    broken = [text for text, ok in protective if not ok]
    quiet = data.silent_days > data.quiet_threshold
    points = (doing_count * WEIGHTS["doing"] + len(broken) * WEIGHTS["broken"]
              + (WEIGHTS["quiet"] if quiet else WEIGHTS["recent"])
              + (WEIGHTS["unanswered"] if data.unanswered >= 3 else 0))
    met = f"{doing_count + len(protective) - len(broken)} of 8 signals"
    ago = {0: "within the last day", 1: "a day ago"}.get(data.silent_days, f"{data.silent_days} days ago")
    silence = (f"silent {data.silent_days} days (quiet after {data.quiet_threshold})" if quiet else
               f"heard from them {ago}" if data.heard_ever else
               f"tracked {data.silent_days} day{'s' if data.silent_days != 1 else ''}, nothing from them yet")
    unanswered = f"{data.unanswered} touches from us unanswered" if data.unanswered >= 3 else None
    late, goals = data.late_commitments, data.goals_at_risk
    signs = data.warning_signs_30d + late + goals
    owed = "; ".join(part for part in (
        f"{late} commitment{'s' if late > 1 else ''} of ours late" if late else "",
        f"{goals} goal{'s' if goals > 1 else ''} at risk" if goals else "")
        if part) or None

    facts: list[str | None]
    if signs >= AT_RISK_SIGNS:
        counted = f" ({late + goals} of them ours)" if late + goals else ""
        label, facts = "At risk", [f"{signs} warning signs in 30 days{counted}", silence, met]
    elif data.silent_days > SILENCE_FACTOR * data.quiet_threshold:
        label, facts = "At risk", [silence, met, unanswered]
    elif doing_count >= DEEP_MIN_DOING and not broken and not quiet and not late and not goals:
        label, facts = "Deep", [met, silence]
    elif data.heard_ever and not quiet and data.unanswered < 3 and points >= STEADY_MIN_POINTS:
        label, facts = "Steady", [owed, silence, met]
    else:
        label = "Shallow"
        facts = [owed, silence if quiet else met, unanswered,
                 *(f"broken: {text.split(' (')[0].lower()}" for text in broken)]
        if not quiet:
            facts.append(silence)
    return Health(label, checklist, tuple(f for f in facts if f)[:3])
