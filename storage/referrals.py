"""Referrals: who sent whom, and the thanks they are owed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, aliased, joinedload

from storage.models import (
    Client,
    Referral,
)
from storage.workspaces import INSTALLED


def open_referrals_from(session: Session, workspace_id: int, referrer_id: int) -> list[Referral]:
    # with the clients they referred, whose names every caller shows: one statement, not one more per referral
    stmt = (
        select(Referral)
        .options(joinedload(Referral.referred))
        .where(
            Referral.workspace_id == workspace_id,
            Referral.referrer_id == referrer_id,
            Referral.thanked_at.is_(None),
        )
        .order_by(Referral.created_at)
    )
    return list(session.scalars(stmt))


def referrals_by(session: Session, workspace_id: int, referrer_id: int, since: datetime
                 ) -> tuple[list[datetime], list[Referral]]:
    """For a client's card, in one statement: when they made referrals since `since`, and those still to thank
    (oldest first, with the clients they referred)."""
    stmt = (select(Referral).options(joinedload(Referral.referred))
            .where(Referral.workspace_id == workspace_id, Referral.referrer_id == referrer_id,
                   or_(Referral.created_at >= since, Referral.thanked_at.is_(None)))
            .order_by(Referral.created_at, Referral.id))
    found = list(session.scalars(stmt))
    return [r.created_at for r in found if r.created_at >= since], [r for r in found if r.thanked_at is None]


def get_referral(session: Session, workspace_id: int, referral_id: int) -> Referral | None:
    stmt = select(Referral).where(Referral.workspace_id == workspace_id, Referral.id == referral_id)
    return session.scalars(stmt).one_or_none()


def mark_referrals_thanked(session: Session, referral_ids: Sequence[int], user_id: str, now: datetime) -> None:
    session.execute(
        update(Referral)
        .where(Referral.id.in_(list(referral_ids)), Referral.thanked_at.is_(None))
        .values(thanked_at=now, thanked_by=user_id, next_nudge_at=None)
    )


def open_referral_counts(session: Session, workspace_id: int) -> dict[int, int]:
    stmt = (
        select(Referral.referrer_id, func.count())
        .where(Referral.workspace_id == workspace_id, Referral.thanked_at.is_(None))
        .group_by(Referral.referrer_id)
    )
    return {referrer: count for referrer, count in session.execute(stmt)}


def due_referrals(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
                  limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Referral, Client, Client]]:
    referrer, referred = aliased(Client), aliased(Client)
    stmt = (
        select(Referral, referrer, referred)
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(referred, referred.id == Referral.referred_id)
        .where(
            Referral.next_nudge_at <= now,
            Referral.thanked_at.is_(None),
            Referral.workspace_id.in_(INSTALLED),
            referrer.status != "paused",
            or_(referrer.snoozed_until.is_(None), referrer.snoozed_until <= now),
        )
        .order_by(Referral.next_nudge_at, Referral.id)
    )
    if workspace_id is not None:
        stmt = stmt.where(Referral.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(Referral.next_nudge_at, Referral.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True, of=Referral)
    return [(r, a, b) for r, a, b in session.execute(stmt)]


def referral_dates(session: Session, referrer_id: int, since: datetime) -> list[datetime]:
    stmt = select(Referral.created_at).where(Referral.referrer_id == referrer_id, Referral.created_at >= since)
    return list(session.scalars(stmt))


def referrer_id_of(session: Session, workspace_id: int, referral_id: int) -> int | None:
    """Who made a referral, read without loading it (see client_id_of_nudge)."""
    return session.scalar(select(Referral.referrer_id).where(Referral.workspace_id == workspace_id,
                                                             Referral.id == referral_id))
