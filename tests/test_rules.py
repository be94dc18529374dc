"""Each nudge rule at its edges, with `now` injected."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.nudges import rules
from bot.settings import BusinessHours, parse_business_hours

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_threshold_is_the_clients_own_setting_first():
    assert rules.quiet_threshold(12, [T0 - i * DAY for i in range(10)], T0) == rules.Threshold(12, "own")


def test_threshold_learns_the_clients_rhythm_from_four_contacts():
    weekly = [T0 - i * 7 * DAY for i in range(4)]
    assert rules.quiet_threshold(None, weekly, T0) == rules.Threshold(14, "rhythm")
    assert rules.quiet_threshold(None, weekly[:3], T0) == rules.Threshold(30, "default")


def test_several_contacts_on_one_day_count_once_for_the_rhythm():
    same_day = [T0 - 20 * DAY + timedelta(hours=h) for h in range(4)] + [T0]
    assert rules.quiet_threshold(None, same_day, T0) == rules.Threshold(30, "default")


def test_threshold_uses_the_median_gap_and_stays_within_7_to_90_days():
    # gaps 2, 2, 40 days: the median (2) is what counts, and 4 days is raised to the 7-day floor
    bursty = [T0, T0 - 2 * DAY, T0 - 4 * DAY, T0 - 44 * DAY]
    assert rules.quiet_threshold(None, bursty, T0) == rules.Threshold(7, "rhythm")
    sparse = [T0 - i * 200 * DAY for i in range(5)]  # only the last year's contacts count: two of them
    assert rules.quiet_threshold(None, sparse, T0) == rules.Threshold(30, "default")
    quarterly = [T0 - i * 80 * DAY for i in range(5)]
    assert rules.quiet_threshold(None, quarterly, T0) == rules.Threshold(90, "rhythm")


def test_quiet_is_due_only_once_the_threshold_has_passed():
    due = rules.first_quiet_due(T0, rules.Threshold(30, "default"))
    assert due == T0 + 30 * DAY
    assert not due <= T0 + 30 * DAY - timedelta(seconds=1)


def test_quiet_reminders_every_seven_days_at_most_three_nudges():
    assert rules.after_quiet_nudge(1, T0) == T0 + 7 * DAY
    assert rules.after_quiet_nudge(2, T0) == T0 + 7 * DAY
    assert rules.after_quiet_nudge(3, T0) is None


def test_unanswered_needs_three_touches_and_a_week():
    first = T0 - 10 * DAY
    assert rules.unanswered_due([first, first + DAY]) is None
    assert rules.unanswered_due([first, first + DAY, first + 2 * DAY]) == first + 7 * DAY
    late_third = [first, first + DAY, first + 9 * DAY]
    assert rules.unanswered_due(late_third) == first + 9 * DAY


def test_thanks_at_two_days_then_seven_then_only_the_digest():
    assert rules.thank_due(T0, 0) == T0 + 2 * DAY
    assert rules.thank_due(T0, 1) == T0 + 7 * DAY
    assert rules.thank_due(T0, 2) is None
    late_first = T0 + 30 * DAY
    assert rules.thank_due(T0, 1, late_first) == late_first + 5 * DAY  # never two in a row


def test_at_risk_needs_two_signs_within_thirty_days():
    assert rules.at_risk_episode([T0 - DAY], T0) is None
    assert rules.at_risk_episode([T0 - 20 * DAY, T0 - DAY], T0) == T0 - 20 * DAY
    assert rules.at_risk_episode([T0 - 31 * DAY, T0 - DAY], T0) == T0 - 31 * DAY  # exactly 30 days apart
    assert rules.at_risk_episode([T0 - 32 * DAY, T0 - DAY], T0) is None
    assert rules.at_risk_episode([T0 - 45 * DAY, T0 - 31 * DAY], T0) is None  # the latest is too old
    # a third sign continues the same episode, so its key (and the nudge) does not change
    assert rules.at_risk_episode([T0 - 20 * DAY, T0 - 5 * DAY, T0], T0) == T0 - 20 * DAY


def test_advocate_quiet_only_while_others_still_talk():
    threshold = rules.Threshold(30, "default")
    assert rules.advocate_due(T0 - 40 * DAY, T0 - DAY, threshold) == T0 - 10 * DAY
    assert rules.advocate_due(T0 - 40 * DAY, T0 - 40 * DAY, threshold) is None
    assert rules.advocate_due(None, T0, threshold) is None


def test_business_hours_in_the_workspace_timezone():
    hours = BusinessHours(frozenset(range(5)), time(9), time(17))
    london = ZoneInfo("Europe/London")
    monday = datetime(2026, 7, 6, tzinfo=UTC)  # BST: London is UTC+1
    assert not rules.in_business_hours(monday.replace(hour=7, minute=59), hours, london)
    assert rules.in_business_hours(monday.replace(hour=8), hours, london)
    assert rules.in_business_hours(monday.replace(hour=15, minute=59), hours, london)
    assert not rules.in_business_hours(monday.replace(hour=16), hours, london)
    assert not rules.in_business_hours(datetime(2026, 7, 4, 10, tzinfo=UTC), hours, london)  # Saturday
    always = parse_business_hours("mon-sun 00:00-24:00")
    assert rules.in_business_hours(datetime(2026, 7, 4, 23, 59, tzinfo=UTC), always, london)
