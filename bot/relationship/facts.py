"""Facts about one relationship that commands show and nudges will act on. Pure functions of state and now."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.relationship import thresholds
from bot.relationship.thresholds import Threshold
from bot.when import add_period, describe_period
from storage.models import Client

STATUSES = ("active", "prospect", "paused", "former")


def quiet_threshold(client: Client) -> tuple[int, str]:
    """Days of silence from their side before a client counts as quiet, and how that was decided
    (kept current by bot.relationship.schedule whenever their history changes)."""
    how = Threshold(client.quiet_threshold_days, client.quiet_threshold_how).describe()
    return client.quiet_threshold_days, how


def history_start(client: Client) -> datetime:
    """From when Rapport has the client's history: the earliest entry recorded for it, or when it was added if
    that is earlier (PRODUCT.md §6): a client added today with a year of backdated or imported history has a year
    of history, not a day."""
    since = client.history_since
    return client.created_at if since is None or since > client.created_at else since


def spell_start(client: Client) -> datetime:
    """Where the current silence from their side began: their last contact, else the start of the history."""
    return client.last_their_contact_at or history_start(client)


def silent_days(client: Client, now: datetime) -> int:
    """Whole days since they last reached us (or, if they never have, since the history Rapport has begins)."""
    return max(0, (now - spell_start(client)).days)


def is_quiet(client: Client, now: datetime) -> bool:
    """Silent past its threshold: already nudged this spell, or due to be (what `list quiet`, the App Home
    and the digest all mean by "gone quiet")."""
    return client.status != "paused" and (client.quiet_nudges > 0 or
                                          (client.next_quiet_at is not None and client.next_quiet_at < now))


def is_unanswered(client: Client, now: datetime) -> bool:
    """3+ touches from us since they last replied, the first at least a week ago (rule 4.2)."""
    return client.unanswered_count >= thresholds.UNANSWERED_MIN and client.unanswered_since is not None and \
        now - client.unanswered_since >= thresholds.UNANSWERED_AFTER


def cadence(client: Client) -> str | None:
    if client.checkin_count and client.checkin_unit:
        return describe_period(client.checkin_count, client.checkin_unit)
    return None


class Checkins(Protocol):
    """What next_checkin reads: a Client, or a row about to become one (bulk/demo seeding)."""

    @property
    def checkin_count(self) -> int | None: ...
    @property
    def checkin_unit(self) -> str | None: ...
    @property
    def last_checkin_at(self) -> datetime | None: ...
    @property
    def checkin_set_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


def next_checkin(client: Checkins) -> datetime | None:
    if not (client.checkin_count and client.checkin_unit):
        return None
    # the later of the last check-in and the moment the rhythm was (re)set
    anchor = max(t for t in (client.last_checkin_at, client.checkin_set_at, client.created_at) if t is not None)
    return add_period(anchor, client.checkin_count, client.checkin_unit)


def warning_window_start(now: datetime) -> datetime:
    return now - thresholds.WARNING_WINDOW


def is_snoozed(client: Client, now: datetime) -> bool:
    return client.snoozed_until is not None and client.snoozed_until > now
