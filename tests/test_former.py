"""The former-client series through its whole life, with `now` injected."""

from __future__ import annotations

from datetime import timedelta

from bot.nudges.messages import SOFT_TOUCHES
from bot.settings import parse_business_hours
from tests.test_sweep import MONDAY, posts, run_sweep, words

DAY = timedelta(days=1)
ALWAYS = parse_business_hours("mon-sun 00:00-24:00")


def sweep(rapport, days):
    return run_sweep(rapport, MONDAY + days * DAY, business_hours=ALWAYS).planned.planned.get("winback", 0)


def test_feedback_at_90_days_then_six_different_soft_touches(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("end acme corp : moved the work in-house")
    assert sweep(rapport, 89) == 0
    assert sweep(rapport, 90) == 1
    ask = words(posts(rapport, "CACME")[-1])
    assert "It's been 90 days since Acme Corp stopped being a client" in ask and "moved the work in-house" in ask
    assert "say you know they are no longer a client" in ask
    rapport.clock.now = MONDAY + 91 * DAY
    assert "feedback asked; next soft touch 2027-04-15" in rapport.command("list former").text
    assert sweep(rapport, 149) == 0
    seen = []
    for touch in range(6):
        assert sweep(rapport, 150 + 60 * touch) == 1
        text = words(posts(rapport, "CACME")[-1])
        assert f"touch {touch + 1} of 6" in text
        seen.append(next(idea for idea in SOFT_TOUCHES if idea in text))
    assert len(set(seen)) == 6, "each soft touch suggests a different kind of value"
    assert sweep(rapport, 150 + 60 * 6) == 0 and sweep(rapport, 900) == 0
    rapport.clock.now = MONDAY + 900 * DAY
    assert "series complete" in rapport.command("list former").text


def test_opting_out_midway_stops_the_series_for_good(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("end acme corp")
    sweep(rapport, 90)
    sweep(rapport, 150)
    rapport.command("optout acme corp")
    assert sweep(rapport, 210) == 0 and sweep(rapport, 400) == 0
    assert len(posts(rapport, "CACME")) == 2
    rapport.clock.now = MONDAY + 400 * DAY
    assert "opted out" in rapport.command("list former").text


def test_a_planned_touch_is_dropped_if_they_opt_out_before_it_posts(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("end acme corp")
    run_sweep(rapport, MONDAY + 90 * DAY)  # a Sunday: planned, not posted
    rapport.command("optout acme corp")
    report = run_sweep(rapport, MONDAY + 91 * DAY)
    assert report.focus.dropped == 1 and posts(rapport) == []


def test_reactivation_closes_the_series(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("end acme corp")
    sweep(rapport, 90)
    rapport.clock.now = MONDAY + 100 * DAY
    rapport.command("reactivate acme corp")
    assert sweep(rapport, 150) == 0 and sweep(rapport, 400) == 0
    later = [words(p) for p in posts(rapport, "CACME")[1:]]  # ordinary nudges may follow, never the series
    assert not any("former client" in text or "soft touch" in text.lower() for text in later)


def test_no_winback_means_no_series(rapport):
    rapport.command("add Acme Corp")
    rapport.command("end acme corp no-winback")
    assert sweep(rapport, 90) == 0 and sweep(rapport, 200) == 0
    rapport.clock.now = MONDAY + 10 * DAY
    assert "no win-back" in rapport.command("list former").text
