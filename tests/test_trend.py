"""The six-month trend: the same two metrics every month, so a change is visible at a glance."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.relationship.trend import Entry, describe, monthly, sparkline

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
CREATED = datetime(2026, 1, 5, tzinfo=UTC)


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def test_months_count_contacts_from_their_side_and_judge_health_at_each_months_end():
    entries = [Entry(at(6), "call", "both"), Entry(at(7), "call", "in"), Entry(at(7, 20), "email", "out"),
               Entry(at(8), "help", "in"), Entry(at(8, 12), "acted", "in"), Entry(at(8, 14), "strategic", "in"),
               Entry(at(10), "cancel", "in"), Entry(at(10, 12), "dispute", "in")]
    months = monthly(entries, [], CREATED, 30, NOW)
    assert [m.label for m in months] == ["Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]
    assert [m.contacts for m in months] == [1, 1, 3, 0, 2, 0]
    # October ends with two warning signs in its last 30 days; by mid-November they have aged out
    assert [m.health for m in months] == ["Steady", "Steady", "Deep", "Shallow", "At risk", "Shallow"]
    contacts, health = describe(months)
    assert contacts == "Contacts from them by month (Jun–Nov): ▃▃█▁▆▁  1 1 3 0 2 0"
    assert health == ("Health by month (Jun–Nov): ▅▅█▃▁▃  Steady → Steady → Deep → Shallow → At risk → Shallow")


def test_months_before_the_client_existed_are_marked_as_such():
    months = monthly([], [], datetime(2026, 10, 20, tzinfo=UTC), 30, NOW)
    assert [m.health for m in months] == ["—", "—", "—", "—", "Shallow", "Shallow"]
    assert sparkline([0, 0, 0]) == "▁▁▁"


def test_status_shows_the_trend(rapport):
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from 40d ago")
    rapport.command("log acme corp call from")
    text = rapport.command("status acme corp").text
    assert "Health by month (Jun–Nov):" in text and "Contacts from them by month (Jun–Nov):" in text
    assert "→ Steady\n" in text  # this month, after today's call
