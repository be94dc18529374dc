"""A client's history: the touches logged, read back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Interaction,
    Referral,
)

_INTERACTIONS_SINCE = (select(Interaction).where(Interaction.client_id == bindparam("client_id"),
                                                 Interaction.occurred_at >= bindparam("since"))
                       .order_by(Interaction.occurred_at, Interaction.id))


def recent_interactions(session: Session, client_id: int, limit: int) -> list[Interaction]:
    stmt = (
        select(Interaction)
        .where(Interaction.client_id == client_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def interactions_since(session: Session, client_id: int, since: datetime) -> list[Interaction]:
    return list(session.scalars(_INTERACTIONS_SINCE, {"client_id": client_id, "since": since}))


def count_history(session: Session, client_id: int) -> tuple[int, int]:
    interactions = session.scalar(select(func.count()).where(Interaction.client_id == client_id)) or 0
    referrals = (
        session.scalar(
            select(func.count()).where(or_(Referral.referrer_id == client_id, Referral.referred_id == client_id))
        )
        or 0
    )
    return interactions, referrals


def has_interaction(session: Session, client_id: int, kind: str, occurred_at: datetime, note: str) -> bool:
    stmt = select(Interaction.id).where(
        Interaction.client_id == client_id,
        Interaction.kind == kind,
        Interaction.occurred_at == occurred_at,
        Interaction.note == note,
    )
    return session.scalar(stmt.limit(1)) is not None
