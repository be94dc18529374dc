"""Health on hand-built histories: each label, each signal, the window edges."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.relationship.health import HealthInput, assess
from tests.test_sweep import MONDAY

BASE = {"kinds": {}, "referrals": 0, "warning_signs_30d": 0, "silent_days": 5, "heard_ever": True,
        "quiet_threshold": 30, "unanswered": 0}


def health(**changes):
    return assess(HealthInput(**{**BASE, **changes}))


def test_deep_needs_three_things_they_do_and_nothing_broken():
    deep = health(kinds={"help": 2, "acted": 1, "early": 1})
    assert deep.label == "Deep" and deep.facts[0] == "5 of 8 signals"
    assert health(kinds={"help": 2, "acted": 1}, referrals=1).label == "Deep"  # a referral counts
    assert health(kinds={"help": 2, "acted": 1, "early": 1, "dispute": 1}).label != "Deep"
    assert health(kinds={"help": 2, "acted": 1, "early": 1}, silent_days=31).label != "Deep"


def test_steady_is_regular_contact_without_much_depth():
    steady = health(kinds={"call": 4})
    assert steady.label == "Steady" and steady.facts == ("heard from them 5 days ago", "2 of 8 signals")


def test_shallow_when_quiet_unanswered_or_never_heard_from():
    assert health(silent_days=31).label == "Shallow"
    assert health(unanswered=3).label == "Shallow"
    assert "3 touches from us unanswered" in health(unanswered=3).facts
    assert health(heard_ever=False, silent_days=3).label == "Shallow"
    assert health(kinds={"cancel": 1, "delay": 1, "dispute": 1}).label == "Shallow"


def test_at_risk_on_warning_signs_or_long_silence():
    risky = health(warning_signs_30d=2)
    assert risky.label == "At risk" and risky.facts[0] == "2 warning signs in 30 days"
    assert health(warning_signs_30d=1).label != "At risk"
    assert health(silent_days=60).label == "Shallow"  # exactly twice the threshold: not yet
    assert health(silent_days=61).label == "At risk"


@pytest.mark.parametrize(("kinds", "referrals", "signal"), [
    ({"help": 1}, 0, "They come to you for help"),
    ({"acted": 1}, 0, "They act on your advice"),
    ({}, 1, "They refer you"),
    ({"forgave": 1}, 0, "They forgive mistakes"),
    ({"strategic": 1}, 0, "They involve you in complex matters"),
    ({"early": 1}, 0, "They involve you early when issues form"),
])
def test_each_signal_ticks_its_own_line(kinds, referrals, signal):
    checklist = dict(health(kinds=kinds, referrals=referrals).checklist)
    assert checklist[signal] is True
    assert sum(checklist.values()) == 3  # that one plus the two protective signals


def test_protective_signals_break_on_disputes_and_cancellations():
    checklist = dict(health(kinds={"dispute": 1, "delay": 1}).checklist)
    assert checklist["No disputes about money"] is False
    assert checklist["They treat you with respect (no last-minute cancellations or delays)"] is False
    assert len(checklist) == 8


def test_the_window_is_180_days_end_to_end(rapport):
    rapport.command("add Acme Corp")
    rapport.command("log acme corp help 179d ago")
    rapport.command("log acme corp acted 100d ago")
    rapport.command("log acme corp early 181d ago")
    rapport.command("log acme corp call from")
    status = rapport.command("status acme corp").text
    assert "Health: Steady (last 180 days)" in status
    assert "✓ They come to you for help" in status and "✗ They involve you early when issues form" in status
    rapport.command("log acme corp strategic")
    assert "Health: Deep" in rapport.command("status acme corp").text
    rapport.clock.now = MONDAY + timedelta(days=2)
    assert "Health: Steady" in rapport.command("status acme corp").text  # the help entry has aged out
    rapport.command("add Risky Ltd")
    rapport.command("log risky ltd cancel")
    rapport.command("log risky ltd complaint")
    rapport.command("add Deep Co")
    for kind in ("help", "acted", "strategic", "call from"):
        rapport.command(f"log deep co {kind}")
    listed = rapport.command("list by health").text
    assert "deepest relationships first" in listed
    assert listed.index("Deep Co · Deep") < listed.index("Acme Corp · Steady") < listed.index("Risky Ltd · At risk")
    assert "Risky Ltd · At risk" in rapport.command("list at-risk by health").text
