"""Facts about one relationship that commands show and nudges will act on. Pure functions of state and now."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.rules import Threshold
from bot.when import add_period, describe_period
from storage.models import Client

WARNING_WINDOW_DAYS = 30
AT_RISK_SIGNS = 2
STATUSES = ("active", "prospect", "paused", "former")


def quiet_threshold(client: Client) -> tuple[int, str]:
    """Days of silence from their side before a client counts as quiet, and how that was decided
    (kept current by bot.schedule whenever their history changes)."""
    how = Threshold(client.quiet_threshold_days, client.quiet_threshold_how).describe()
    return client.quiet_threshold_days, how


def silent_days(client: Client, now: datetime) -> int | None:
    """Whole days since they last reached us (or since we started tracking them, if never)."""
    since = client.last_their_contact_at or client.created_at
    return max(0, (now - since).days)


def is_quiet(client: Client, now: datetime) -> bool:
    days = silent_days(client, now)
    return days is not None and days > quiet_threshold(client)[0]


def cadence(client: Client) -> str | None:
    if client.checkin_count and client.checkin_unit:
        return describe_period(client.checkin_count, client.checkin_unit)
    return None


def next_checkin(client: Client) -> datetime | None:
    if not (client.checkin_count and client.checkin_unit):
        return None
    # the later of the last check-in and the moment the rhythm was (re)set
    anchor = max(t for t in (client.last_checkin_at, client.checkin_set_at, client.created_at) if t is not None)
    return add_period(anchor, client.checkin_count, client.checkin_unit)


def warning_window_start(now: datetime) -> datetime:
    return now - timedelta(days=WARNING_WINDOW_DAYS)


def is_snoozed(client: Client, now: datetime) -> bool:
    return client.snoozed_until is not None and client.snoozed_until > now
