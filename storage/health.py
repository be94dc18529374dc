"""The counts a client's health is worked out from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    String,
    bindparam,
    case,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from storage.models import (
    Interaction,
    Referral,
)
from storage.signs import our_late_signs


@cache
def _health_counts_statement() -> Any:
    """health_counts's statement, built once with its values as parameters (building it is most of its cost).
    Rows: (client, tag, kind, count, count since :recent_since, since when): our late signs first (their
    column types carry the union's), then interactions by kind, then referrals made."""
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    since: BindParameter[datetime] = bindparam("since")
    recent_since: BindParameter[datetime] = bindparam("recent_since")
    zero = literal(0, Integer)
    signs = our_late_signs(lambda model: model.client_id.in_(ids), recent_since)
    late = select(signs.c.client_id, literal("late", String).label("tag"), signs.c.kind, zero.label("n"),
                  zero.label("recent"), signs.c.at)
    in_recent = func.sum(case((Interaction.occurred_at >= recent_since, 1), else_=0))
    touches = (select(Interaction.client_id, literal("touch", String), Interaction.kind, func.count(), in_recent,
                      null())
               .where(Interaction.client_id.in_(ids), Interaction.occurred_at >= since)
               .group_by(Interaction.client_id, Interaction.kind))
    made = (select(Referral.referrer_id, literal("referral", String), null(), func.count(), zero, null())
            .where(Referral.referrer_id.in_(ids), Referral.created_at >= since)
            .group_by(Referral.referrer_id))
    return union_all(late, touches, made)


@dataclass(frozen=True)
class HealthCounts:
    """What a page of clients' health labels are worked out from, per client."""

    kinds: dict[int, dict[str, int]]  # interactions by kind since `since`
    recent_kinds: dict[int, dict[str, int]]  # the same since `recent_since`
    referrals: dict[int, int]  # referrals they made since `since`
    late: dict[int, list[tuple[str, datetime]]]  # our late signs since `recent_since`, oldest first (as late_signs_of)


def health_counts(session: Session, client_ids: Sequence[int], since: datetime, recent_since: datetime
                  ) -> HealthCounts:
    """One statement per 500 clients: a list's every line shows a health label, and each statement costs a round
    trip (the referrals and our late signs ride along as rows of their own)."""
    assert recent_since >= since
    found = HealthCounts({cid: {} for cid in client_ids}, {cid: {} for cid in client_ids}, {}, {})
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        params = {"ids": ids[start:start + 500], "since": since, "recent_since": recent_since}
        for client_id, tag, kind, count, recent_count, at in session.execute(_health_counts_statement(), params):
            if tag == "late":
                found.late.setdefault(client_id, []).append((kind, at))
            elif tag == "referral":
                found.referrals[client_id] = count
            else:
                found.kinds[client_id][kind] = count
                if recent_count:
                    found.recent_kinds[client_id][kind] = recent_count
    for signs in found.late.values():
        signs.sort(key=lambda sign: (sign[1], sign[0]))
    return found
