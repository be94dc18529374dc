"""Each person's own pace (PRODUCT.md §4.8, issue 34): `/client me` and App Home's *Change pace*, end to end through
signed requests; bad input gets a clear message and changes nothing; focus honours fewer cards, a later hour and a
pause in sweeps, and what waits meanwhile is not dropped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.models import Card, Nudge, PersonPace
from tests.test_focus import THURSDAY, _posted
from tests.test_home import _open_home, _view
from tests.test_sweep import run_sweep

DAY = timedelta(days=1)


def _pace(rapport, user="UANA") -> tuple | None:
    """The one workspace's row (a first command refused makes no workspace: its id may not be 1)."""
    with rapport.database.sessions() as session:
        row = session.scalars(select(PersonPace).where(PersonPace.user_id == user)).one_or_none()
        return None if row is None else (row.cards, row.at, row.tz, row.paused_until)


def _cards_of(rapport, owner="UANA") -> int:
    return sum(1 for _, _, who in _posted(rapport) if who == owner)


def _waiting(rapport) -> int:
    with rapport.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Nudge).where(
            Nudge.status == "pending", Nudge.card_id.is_(None))) or 0


def test_me_alone_shows_the_workspace_pace_and_how_to_change_it(rapport):
    reply = rapport.command("me")
    assert "up to 5 cards a workday (the workspace's most), from the start of business hours (09:00 UTC)." in \
        reply.text
    assert "/client me cards 3" in reply.text and "Change pace" in reply.text
    assert _pace(rapport) is None


@pytest.mark.parametrize(("words", "said"), [
    ("cards 0", "0 cards a day would stop them altogether. To stop them for a while, pause them"),
    ("cards 6", "This workspace brings up at most 5 clients a person a workday (RAPPORT_DAILY_FOCUS), so 6 is more "
                "than it allows. Choose from 1 to 5."),
    ("cards many", "Cards a day is a number from 1 to 5, not 'many'."),
    ("at 18:30", "18:30 your time (Europe/London) is outside business hours (09:00–17:00 UTC), when Rapport posts. "
                 "Choose a time from 09:00 to before 17:00 your time."),
    ("at 7:00", "07:00 your time (Europe/London) is outside business hours"),
    ("at noon", "Write the time as HH:MM on the 24-hour clock, like 10:30, not 'noon'."),
    ("at 24:00", "Write the time as HH:MM"),
    ("pause until 2026-11-01", "2026-11-01 is in the past: a pause runs until a day still to come."),
    ("pause until today", "A pause until today would end before it began: pause until a day after today"),
    ("pause until 2028-06-01", "2028-06-01 is more than a year away"),
    ("pause", "Say until when: /client me pause until next monday"),
    ("pause until someday", "I can't read 'someday' as a day."),
    ("holiday", "I don't know 'holiday' here."),
    ("cards 3 cards 2", "Say each of cards, at, and pause or resume at most once."),
    ("pause until friday resume", "Say each of cards, at, and pause or resume at most once."),
    ("cards 3 at 18:30", "18:30 your time (Europe/London) is outside business hours"),
])
def test_bad_input_says_what_is_wrong_shows_the_form_and_changes_nothing(rapport, words, said):
    rapport.command("me cards 4 at 10:00")
    before = _pace(rapport)
    reply = rapport.command(f"me {words}")
    assert said in reply.text, reply.text
    assert "/client me [cards <N>] [at <HH:MM>] [pause until <date> | resume]" in reply.text
    assert _pace(rapport) == before == (4, "10:00", "Europe/London", None)


def test_the_hour_is_yours_and_must_fall_inside_business_hours(rapport):
    """Ben is in Los Angeles; business hours are 09:00–17:00 UTC: 01:00 to 09:00 his time."""
    refused = rapport.command("me at 10:00", user="UBEN")
    assert ("10:00 your time (America/Los_Angeles) is outside business hours (09:00–17:00 UTC), when Rapport posts. "
            "Choose a time from 01:00 to before 09:00 your time.") in refused.text
    saved = rapport.command("me at 07:30", user="UBEN")
    assert "from 07:30 your time (America/Los_Angeles)" in saved.text
    assert _pace(rapport, "UBEN") == (None, "07:30", "America/Los_Angeles", None)


def test_set_several_at_once_then_resume(rapport):
    reply = rapport.command("me cards 2 at 11:15 pause until 2026-11-30")
    assert "up to 2 cards a workday (the workspace allows 5), from 11:15 your time (Europe/London). Paused: no " \
           "cards before 30 Nov, when they start again." in reply.text
    assert "it waits, ranked, in App Home (Needs attention)" in reply.text
    assert _pace(rapport) == (2, "11:15", "Europe/London", date(2026, 11, 30))
    resumed = rapport.command("me resume")
    assert "Resumed: your cards come again" in resumed.text
    assert _pace(rapport) == (2, "11:15", "Europe/London", None)
    assert "You weren't paused" in rapport.command("me resume").text


def _quiet_portfolio(rapport, count=6, owner="UANA"):
    for i in range(count):
        rapport.command(f"add {owner[1:].title()} Client {i} channel <#CTEAM|team>", user=owner)


def test_fewer_cards_a_day_and_the_rest_waits_ranked(rapport):
    _quiet_portfolio(rapport, 6)
    _quiet_portfolio(rapport, 1, "UBEN")
    rapport.command("me cards 2")
    report = run_sweep(rapport, THURSDAY)
    assert _cards_of(rapport) == 2 and _cards_of(rapport, "UBEN") == 1  # Ben keeps the workspace's pace
    assert "3 cards for 2 people, 4 clients waiting" in report.summary()
    assert run_sweep(rapport, THURSDAY + timedelta(hours=3)).delivery.posted == 0  # the same day: spent
    run_sweep(rapport, THURSDAY + DAY)
    assert _cards_of(rapport) == 4 and _waiting(rapport) == 2
    text = json.dumps(_open_home(rapport), ensure_ascii=False)
    assert "Needs attention (2)" in text and "Rapport brings up at most 2 a workday" in text


def test_no_cards_before_their_hour(rapport):
    _quiet_portfolio(rapport, 2)
    rapport.command("me at 14:00")  # London is on UTC in December
    assert run_sweep(rapport, THURSDAY).delivery.posted == 0  # 10:00: not yet
    assert _cards_of(rapport) == 0 and _waiting(rapport) == 2
    assert run_sweep(rapport, THURSDAY.replace(hour=13, minute=59)).delivery.posted == 0
    run_sweep(rapport, THURSDAY.replace(hour=14))
    assert _cards_of(rapport) == 2


def test_an_hour_past_closing_on_a_day_still_gets_its_cards_before_it_closes(rapport):
    """16:55 was inside business hours when set; the cards come in the last sweep before 17:00, not never."""
    _quiet_portfolio(rapport, 1)
    rapport.command("me at 16:55")
    assert run_sweep(rapport, THURSDAY.replace(hour=16, minute=30)).delivery.posted == 0
    run_sweep(rapport, THURSDAY.replace(hour=16, minute=45))
    assert _cards_of(rapport) == 1


def test_a_pause_holds_the_cards_and_drops_nothing(rapport):
    _quiet_portfolio(rapport, 3)
    rapport.command("value ana client 2 900k")
    rapport.command("value ana client 0 10k")
    rapport.clock.now = THURSDAY - DAY
    rapport.command("me pause until 2026-12-21")  # a Monday
    for day in range(4):  # Thursday, Friday, and the weekend: nothing while paused
        run_sweep(rapport, THURSDAY + day * DAY)
    assert _cards_of(rapport) == 0 and _waiting(rapport) == 3
    rapport.clock.now = THURSDAY + DAY
    home = json.dumps(_open_home(rapport), ensure_ascii=False)
    assert "Today: paused, no cards until 21 Dec · 3 waiting their turn" in home
    assert "Needs attention (3)" in home and "Resume cards" in home
    run_sweep(rapport, datetime(2026, 12, 21, 10, tzinfo=UTC))
    assert _cards_of(rapport) == 3, "back from the pause, everything that waited competes again"
    with rapport.database.sessions() as session:
        first = session.scalars(select(Card).order_by(Card.id)).first()
        assert first is not None and first.why.startswith("Why today: gone quiet, top 10% by value, waited 2 workdays")


def test_app_home_change_pace_checks_like_the_command(rapport):
    from tests.test_home import _press

    view = _open_home(rapport)
    text = json.dumps(view, ensure_ascii=False)
    assert "Today: 0 of your 5 cards sent · nothing waiting" in text
    assert "Your pace: up to 5 cards a workday" in text
    _press(rapport, "home_pace", "0")
    modal = _view(rapport.fake.wait_for("views.open")[0])
    assert modal["callback_id"] == "pace_form"
    assert [o["value"] for o in modal["blocks"][1]["element"]["options"]] == ["1", "2", "3", "4", "5"]

    def submit(cards="3", at=None, pause=None):
        values = {"cards": {"cards": {"type": "static_select", "selected_option": {"value": cards}}},
                  "at": {"at": {"type": "timepicker", "selected_time": at}},
                  "pause": {"pause": {"type": "datepicker", "selected_date": pause}}}
        return rapport.interact({"type": "view_submission", "trigger_id": "t", "view": {
            "id": "VPACE", "type": "modal", "callback_id": "pace_form", "state": {"values": values}}})

    refused = submit(cards="9", at="18:00", pause="2026-11-01")
    errors = json.loads(refused.body)["errors"]
    assert errors == {"cards": "Choose from 1 to 5.",
                      "at": "18:00 your time (Europe/London) is outside business hours (09:00–17:00 UTC), when "
                            "Rapport posts. Choose a time from 09:00 to before 17:00 your time.",
                      "pause": "Pick a day after today: your cards start again that morning."}
    assert _pace(rapport) is None
    assert submit(cards="3", at="10:30", pause="2026-11-23").body == ""
    assert _pace(rapport) == (3, "10:30", "Europe/London", date(2026, 11, 23))
    home = json.dumps(_view(rapport.fake.wait_for("views.publish", count=2)[1]), ensure_ascii=False)
    assert "Today: paused, no cards until 23 Nov" in home and "from 10:30 your time" in home
    _press(rapport, "home_resume", "0")
    rapport.fake.wait_for("views.publish", count=3)
    assert _pace(rapport) == (3, "10:30", "Europe/London", None)


def test_the_hour_is_read_in_the_persons_own_timezone(rapport):
    """Ben, in Los Angeles, asks for 07:30: 15:30 in the workspace's UTC."""
    _quiet_portfolio(rapport, 1, "UBEN")
    rapport.command("me at 07:30", user="UBEN")
    assert run_sweep(rapport, THURSDAY.replace(hour=15)).delivery.posted == 0
    run_sweep(rapport, THURSDAY.replace(hour=15, minute=30))
    assert _cards_of(rapport, "UBEN") == 1
