"""Whether a planned nudge still applies when it is about to be shown: a touch, a thanks or a snooze since
planning changes what should be said."""

from __future__ import annotations

import json
from datetime import datetime

from bot.nudges.rules import CONTACTABLE
from bot.relationship.facts import spell_start
from storage.models import Client, Commitment, Goal, LinkedChannel, Nudge, Referral


def relevance(nudge: Nudge, client: Client | None, referral: Referral | None, now: datetime,
              linked: LinkedChannel | None = None, commitment: Commitment | None = None,
              goal: Goal | None = None) -> str | datetime:
    """'send', 'drop' (the situation changed since planning), or a time to wait until (snoozed)."""
    if client is None:
        return "drop"
    if client.snoozed_until is not None and client.snoozed_until > now:
        return client.snoozed_until
    facts = json.loads(nudge.facts)
    kind = nudge.kind
    if kind in ("promise", "issue", "eta"):  # kept, resolved, given news or a new estimate since
        if commitment is None or commitment.done_at is not None or client.status not in CONTACTABLE:
            return "drop"
        changed = {"promise": facts.get("due") != (commitment.due_on.isoformat() if commitment.due_on else None),
                   "issue": facts.get("since") != (commitment.update_since or commitment.created_at).isoformat(),
                   "eta": facts.get("eta") != (commitment.due_on.isoformat() if commitment.due_on else None)}[kind]
        return "drop" if changed else "send"
    if kind.startswith("goal_"):
        return goal_relevance(nudge, client, goal, facts)
    if kind == "reply":  # answered, deleted or unlinked since: nothing is waiting any more
        still = linked is not None and linked.asked_ts == facts.get("ts") and client.status in CONTACTABLE
        return "send" if still else "drop"
    if kind == "thank":
        return "drop" if referral is None or referral.thanked_at is not None or client.status == "paused" else "send"
    if kind == "winback":
        still = client.status == "former" and not client.opted_out and not client.no_winback \
            and facts.get("ended") == iso(client.ended_at)
        return "send" if still else "drop"
    if client.status not in CONTACTABLE:
        return "drop"
    changed = {
        "quiet": facts.get("spell") != iso(spell_start(client)),
        "unanswered": facts.get("since") != iso(client.unanswered_since),
        "checkin": facts.get("last") != iso(client.last_checkin_at) or not client.checkin_count,
        "advocate": facts.get("heard_from_contact") != iso(client.last_primary_contact_at),
        "heads_up": facts.get("since") != iso(client.heads_up_since),  # the advocate was told since
    }.get(kind, False)
    return "drop" if changed else "send"


def goal_relevance(nudge: Nudge, client: Client, goal: Goal | None, facts: dict[str, object]) -> str:
    """A goal's question still stands while the goal is open and nobody has answered it since it was planned;
    its at-risk card while this very spell of risk goes on."""
    if goal is None or goal.status != "open" or client.status not in CONTACTABLE:
        return "drop"
    if nudge.kind == "goal_check":
        return "drop" if goal.confidence_at is not None and goal.confidence_at >= nudge.created_at else "send"
    if nudge.kind == "goal_risk":
        return "send" if facts.get("since") == iso(goal.at_risk_since) else "drop"
    return "send"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
