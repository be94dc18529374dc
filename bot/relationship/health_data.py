"""Gathering health inputs: for a page of clients in a few grouped queries, or from one client's history read
once for its card."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.relationship.facts import silent_days
from bot.relationship.health import WINDOW, Health, HealthInput, assess
from bot.relationship.kinds import WARNING_SIGNS
from bot.relationship.thresholds import WARNING_WINDOW
from storage.commitments import late_signs_of
from storage.health import health_counts
from storage.interactions import interactions_since
from storage.models import Client, Commitment, Goal, Interaction, Referral
from storage.referrals import referrals_by


def health_of(session: Session, clients: Sequence[Client], now: datetime) -> dict[int, Health]:
    ids = [c.id for c in clients]
    counts = health_counts(session, ids, now - WINDOW, now - timedelta(days=30))
    return {client.id: _assess(client, counts.kinds[client.id], counts.recent_kinds[client.id],
                               counts.referrals.get(client.id, 0), counts.late.get(client.id, []), now)
            for client in clients}


@dataclass(frozen=True)
class History:
    """One client's history since `since`, read once: its card's health, warning signs, trend and recent touches
    all come from it instead of each reading the same rows again."""

    since: datetime
    interactions: list[Interaction]  # occurred since `since`, oldest first
    referral_dates: list[datetime]  # referrals they made since `since`
    open_referrals: list[Referral]  # theirs still to thank, whenever made, oldest first
    late: list[tuple[str, datetime]]  # our commitments late within the warning window, and since when


def history_of(session: Session, client: Client, since: datetime, now: datetime,
               owed: tuple[Sequence[Commitment], Sequence[Goal]] | None = None) -> History:
    """`owed`: the client's open commitments and open goals, when the caller has read them already (the card
    shows them): what is late is worked out from them instead of asked again."""
    assert since <= now - max(WINDOW, WARNING_WINDOW), "the history must cover health's windows"
    late = (late_from(*owed, now - WARNING_WINDOW) if owed is not None
            else late_signs_of(session, [client.id], now - WARNING_WINDOW).get(client.id, []))
    dates, unthanked = referrals_by(session, client.workspace_id, client.id, since)
    return History(since, interactions_since(session, client.id, since), dates, unthanked, late)


def late_from(commitments: Sequence[Commitment], goals: Sequence[Goal], since: datetime
              ) -> list[tuple[str, datetime]]:
    """What storage.commitments.late_signs_of reads, from open commitments and open goals already in hand."""
    signs = [(c.kind, c.late_since) for c in commitments if c.done_at is None and c.late_since is not None
             and c.late_since >= since]
    signs += [("goal", g.at_risk_since) for g in goals if g.status == "open" and g.at_risk_since is not None
              and g.at_risk_since >= since]
    return sorted(signs, key=lambda sign: sign[1])


def health_from(client: Client, history: History, now: datetime) -> Health:
    """The same health as health_of, from a history already read."""
    window, recent = now - WINDOW, now - timedelta(days=30)
    kinds = Counter(i.kind for i in history.interactions if i.occurred_at >= window)
    recent_kinds = Counter(i.kind for i in history.interactions if i.occurred_at >= recent)
    referrals = sum(1 for at in history.referral_dates if at >= window)
    return _assess(client, kinds, recent_kinds, referrals, [(kind, at) for kind, at in history.late if at >= recent],
                   now)


def warning_signs_since(history: History, since: datetime) -> int:
    """Their warning signs (interactions of those kinds) since `since`, within the history."""
    assert since >= history.since
    return sum(1 for i in history.interactions if i.kind in WARNING_SIGNS and i.occurred_at >= since)


def _assess(client: Client, kinds: Mapping[str, int], recent_kinds: Mapping[str, int], referrals: int,
            late: Sequence[tuple[str, datetime]], now: datetime) -> Health:
    """`late`: our late commitments and goals at risk (kind 'goal') within 30 days, each with since when."""
    goals = sum(1 for kind, _ in late if kind == "goal")
    return assess(HealthInput(
        kinds=kinds,
        referrals=referrals,
        warning_signs_30d=sum(recent_kinds.get(k, 0) for k in WARNING_SIGNS),
        silent_days=silent_days(client, now),
        heard_ever=client.last_their_contact_at is not None,
        quiet_threshold=client.quiet_threshold_days,
        unanswered=client.unanswered_count,
        late_commitments=len(late) - goals,
        goals_at_risk=goals,
    ))
