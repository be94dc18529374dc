"""The referral channel (PRODUCT.md §4.14): when a client is in a good place to be asked to make referring easy.

A client that has been *Deep* for 60 days (the health label now and as it stood 60 days ago), had a `praise` or
`acted` in the last 14 days and has nothing open (no promise overdue, no open issue, no question of theirs waiting
for an answer) gets, at most once every 90 days, a low-ranked card. The rule looks when a praise or acted is
logged, then once a day while that win is recent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.relationship.facts import history_start
from bot.relationship.health import WINDOW
from bot.relationship.health_data import health_of
from bot.relationship.trend import Entry, label_at
from storage.capture import links_of
from storage.commitments import open_commitments
from storage.handoffs import WINS, last_kind_at
from storage.interactions import interactions_since
from storage.models import Client
from storage.referrals import referral_dates

DEEP_FOR = timedelta(days=60)
WIN_WITHIN = timedelta(days=14)
ASK_EVERY = timedelta(days=90)
LOOK_AGAIN = timedelta(days=1)
DEEP = "Deep"


@dataclass(frozen=True)
class Standing:
    """What the rule reads about one client."""

    label_now: str
    label_then: str  # DEEP_FOR ago
    last_win_at: datetime | None
    open_things: int  # promises overdue, open issues, questions waiting for an answer
    asked_at: datetime | None  # the last card


def failing(standing: Standing, now: datetime) -> list[str]:
    """Which conditions do not hold (none: the card is due)."""
    failed = []
    if standing.label_now != DEEP or standing.label_then != DEEP:
        failed.append("not Deep for 60 days")
    if standing.last_win_at is None or now - standing.last_win_at > WIN_WITHIN:
        failed.append("no praise or acted in 14 days")
    if standing.open_things:
        failed.append("something open")
    if standing.asked_at is not None and now - standing.asked_at < ASK_EVERY:
        failed.append("asked within 90 days")
    return failed


def next_look(standing: Standing, now: datetime) -> datetime | None:
    """Once a day while the win is recent (the other conditions can change with time); else when the next win
    is logged."""
    if standing.last_win_at is None or now + LOOK_AGAIN > standing.last_win_at + WIN_WITHIN:
        return None
    return now + LOOK_AGAIN


def label_as_of(session: Session, client: Client, at: datetime) -> str:
    """The health label as it stood at `at`, from the history before it (as the card's six-month trend does)."""
    entries = [Entry(i.occurred_at, i.kind, i.direction) for i in interactions_since(session, client.id, at - WINDOW)]
    return label_at(entries, referral_dates(session, client.id, at - WINDOW), history_start(client),
                    client.quiet_threshold_days, at)


def standing_of(session: Session, client: Client, now: datetime) -> Standing:
    today = now.date()
    commitments = open_commitments(session, client.id)
    owed = sum(1 for c in commitments
               if c.kind == "issue" or (c.due_on is not None and c.due_on < today))
    waiting = sum(1 for link in links_of(session, client.id) if link.asked_at is not None)
    return Standing(label_now=health_of(session, [client], now)[client.id].label,
                    label_then=label_as_of(session, client, now - DEEP_FOR),
                    last_win_at=last_kind_at(session, client.id, WINS), open_things=owed + waiting,
                    asked_at=client.referable_asked_at)
