"""Gathering health inputs for a page of clients in a few grouped queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.relationship.facts import silent_days
from bot.relationship.health import WINDOW, Health, HealthInput, assess
from bot.relationship.kinds import WARNING_SIGNS
from storage.commitments import late_signs_of
from storage.models import Client
from storage.queries import kinds_since, referrals_made_since


def health_of(session: Session, clients: Sequence[Client], now: datetime) -> dict[int, Health]:
    ids = [c.id for c in clients]
    kinds = kinds_since(session, ids, now - WINDOW)
    recent_kinds = kinds_since(session, ids, now - timedelta(days=30))
    referrals = referrals_made_since(session, ids, now - WINDOW)
    late = late_signs_of(session, ids, now - timedelta(days=30))
    result = {}
    for client in clients:
        result[client.id] = assess(HealthInput(
            kinds=kinds[client.id],
            referrals=referrals.get(client.id, 0),
            warning_signs_30d=sum(recent_kinds[client.id].get(k, 0) for k in WARNING_SIGNS),
            silent_days=silent_days(client, now),
            heard_ever=client.last_their_contact_at is not None,
            quiet_threshold=client.quiet_threshold_days,
            unanswered=client.unanswered_count,
            late_commitments=len(late.get(client.id, [])),
        ))
    return result
