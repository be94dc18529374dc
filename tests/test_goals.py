"""Goals (PRODUCT.md §4.11): what success looks like, agreed with honest odds. The grammar and every bad input;
the weekly check, at risk and met-or-missed at their edges as pure functions of `now`; then end to end through
signed commands, sweeps and card buttons, on SQLite and PostgreSQL; and calibration's arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.goals.calibration import CalibrationLine, calibrate, calibration_for, line_text
from bot.goals.risk import is_at_risk
from bot.goals.schedule import GoalStep, first_workday_of_week, goal_step, week_of
from bot.nudges.messages import CardView, NudgeView, message, pack
from bot.settings import Settings, parse_business_hours
from storage.models import AuditEvent, Goal, GoalCheck
from tests.conftest import _words
from tests.helpers import client_named
from tests.test_home import _open_home, _view
from tests.test_interactive import _latest_update, _press, _submit
from tests.test_sweep import posts, run_sweep, words

HOURS = Settings.business_hours  # Monday to Friday, 09:00-17:00
UTC_ZONE = ZoneInfo("UTC")
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, 16) + timedelta(days=i) for i in range(7))  # the fixture's week
NEXT_MON = date(2026, 11, 23)


def at(day: date, hour: int = 10, tz: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _goals(rapport) -> list[Goal]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Goal).order_by(Goal.id)))


def _checks(rapport) -> list[GoalCheck]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(GoalCheck).order_by(GoalCheck.id)))


# --- the rules, at their edges ----------------------------------------------------------------------------


def test_at_risk_by_level_and_by_a_drop_within_14_days():
    assert is_at_risk(3, []) and is_at_risk(1, [])
    assert not is_at_risk(4, [])
    assert is_at_risk(6, [8]) and is_at_risk(6, [8, 7, 6])  # a drop of 2 from the highest, in small steps
    assert not is_at_risk(7, [8]) and not is_at_risk(9, [5])  # a drop of 1; a rise
    assert not is_at_risk(6, [6])


def test_the_weekly_check_falls_on_the_first_workday_after_a_weekend():
    agreed = at(WED)
    # nothing the rest of the week it was agreed, nor at the weekend; Monday when business hours open
    assert goal_step(date(2027, 3, 31), agreed, None, at(FRI), HOURS, UTC_ZONE) == GoalStep(None, at(NEXT_MON, 9))
    assert goal_step(date(2027, 3, 31), agreed, None, at(SUN, 23), HOURS, UTC_ZONE).stage is None
    monday = goal_step(date(2027, 3, 31), agreed, None, at(NEXT_MON, 9), HOURS, UTC_ZONE)
    assert monday == GoalStep("check", at(NEXT_MON + timedelta(days=7), 9))
    # answered on Monday: the next question is the Monday after
    answered = goal_step(date(2027, 3, 31), agreed, at(NEXT_MON, 11), at(NEXT_MON, 12), HOURS, UTC_ZONE)
    assert answered == GoalStep(None, at(NEXT_MON + timedelta(days=7), 9))
    assert week_of(at(NEXT_MON), UTC_ZONE) == "2026-W48"


def test_under_custom_hours_a_monday_is_not_a_workday_and_the_check_waits_for_tuesday():
    hours = parse_business_hours("tue-sat 09:00-17:00")
    assert first_workday_of_week(NEXT_MON, hours.days) == NEXT_MON + timedelta(days=1)
    agreed = at(WED)
    assert goal_step(date(2027, 3, 31), agreed, None, at(NEXT_MON, 10), hours, UTC_ZONE).stage is None
    tuesday = goal_step(date(2027, 3, 31), agreed, None, at(NEXT_MON + timedelta(days=1), 9), hours, UTC_ZONE)
    assert tuesday.stage == "check" and tuesday.next_check == at(NEXT_MON + timedelta(days=8), 9)
    # and where the workspace is: 09:00 in Los Angeles is 17:00 UTC
    la = ZoneInfo("America/Los_Angeles")
    assert goal_step(date(2027, 3, 31), agreed, None, at(NEXT_MON + timedelta(days=1), 9), hours, la).stage is None


def test_past_its_date_a_goal_asks_met_or_missed_once():
    agreed = at(MON)
    # due Friday: the weekly check would be Monday, but Monday asks met or missed instead
    assert goal_step(FRI, agreed, None, at(THU), HOURS, UTC_ZONE) == GoalStep(None, at(NEXT_MON, 9))
    assert goal_step(FRI, agreed, None, at(FRI, 16), HOURS, UTC_ZONE).stage is None  # its day is not past yet
    assert goal_step(FRI, agreed, None, at(SAT, 1), HOURS, UTC_ZONE) == GoalStep("due", None)


def test_calibration_counts_each_stated_odds_after_five_closed_goals():
    assert calibrate([(90, "met")] * 4) is None
    outcomes = [(90, "met")] * 6 + [(90, "missed")] * 4 + [(50, "met"), (50, "missed"), (30, "missed")]
    lines = calibrate(outcomes)
    assert lines == [CalibrationLine(90, 6, 10), CalibrationLine(50, 1, 2), CalibrationLine(30, 0, 1)]
    assert line_text(lines[0]) == "said 90%: met 6 of 10"
    assert calibrate([(70, "missed")] * 5) == [CalibrationLine(70, 0, 5)]


# --- the command ------------------------------------------------------------------------------------------


def test_a_goal_is_agreed_with_odds_and_barriers(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("goal acme corp renew with 20 more seats by 2027-03-31 odds 50 : budget freeze; "
                            "a new CFO; <!channel> procurement").text
    assert "Goal agreed with Acme Corp: renew with 20 more seats, by" in reply and "odds 50%" in reply
    assert "Barriers named: budget freeze; a new CFO; @channel procurement" in reply
    [goal] = _goals(rapport)
    assert (goal.what, goal.due_on, goal.odds, goal.owner_id, goal.status) == (
        "renew with 20 more seats", date(2027, 3, 31), 50, "UANA", "open")
    assert json.loads(goal.barriers) == ["budget freeze", "a new CFO", "@channel procurement"]
    rapport.command("goal acme corp launch the pilot by friday")  # odds default to 70, no barriers
    assert [(g.odds, json.loads(g.barriers)) for g in _goals(rapport)][1] == (70, [])
    status = rapport.command("status acme corp").text
    assert "Goal: renew with 20 more seats · by" in status and "odds 50% · no confidence given yet" in status
    assert "barriers: budget freeze; a new CFO; @channel procurement" in status
    with rapport.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "goal")) == 2


def test_bad_input_gets_a_clear_answer_and_writes_nothing(rapport):
    rapport.command("add Acme Corp")
    cases = {
        "goal acme corp renew": "Say by when, like /client goal Acme Corp",
        "goal acme corp renew by 2026-11-01": "2026-11-01 is in the past: a goal is about what is still to come",
        "goal acme corp renew by yesterday": "yesterday is in the past",
        "goal acme corp renew by someday": "I can't read 'someday' as a day",
        "goal acme corp by friday": "Say what",
        "goal acme corp renew by friday odds 80": "Odds are 90, 70, 50 or 30 (percent), not '80'",
        "goal acme corp renew by friday odds": "Say the odds you give it: 90, 70, 50 or 30",
        "goal acme corp renew by friday : one; two; three; four": "That is 4 barriers; name at most 3",
        "goal globex renew by friday": "No client matches",
        "goal acme corp confidence 7": "Acme Corp has no open goal",
        "goal acme corp met": "Acme Corp has no open goal",
    }
    for text, expected in cases.items():
        assert expected in rapport.command(text).text, text
    assert _goals(rapport) == []
    rapport.command("goal acme corp renew the contract by 2027-03-31")
    rapport.command("goal acme corp renew the workshop series by 2027-01-31")
    cases = {
        "goal acme corp renew the contract confidence 11": "Confidence is a whole number from 1 to 10, not '11'",
        "goal acme corp confidence 0": "Confidence is a whole number from 1 to 10, not '0'",
        "goal acme corp confidence high": "not 'high'",
        "goal acme corp confidence ²": "not '²'",
        "goal acme corp renew the contract by 2027-05-01 odds ⁹⁰": "Odds are 90, 70, 50 or 30 (percent), not '⁹⁰'",
        "goal acme corp confidence": "Confidence is a whole number from 1 to 10, like",
        "goal acme corp confidence 7": "Acme Corp has 2 open goals: renew the workshop series; renew the contract",
        "goal acme corp renew confidence 7": "Acme Corp has 2 open goals matching 'renew'",
        "goal acme corp hiring confidence 7": "No open goal of Acme Corp matches 'hiring'",
        "goal acme corp met": "Say which",
        "goal acme corp renew the contract by 2027-05-01": "already has this goal open",
    }
    for text, expected in cases.items():
        assert expected in rapport.command(text).text, text
    assert _checks(rapport) == [] and all(g.status == "open" for g in _goals(rapport)) and len(_goals(rapport)) == 2


def test_confidence_by_command_keeps_the_summary_and_a_drop_puts_it_at_risk(rapport):
    rapport.command("add Acme Corp")
    rapport.command("goal acme corp renew the contract by 2027-03-31 odds 90")
    reply = rapport.command("goal acme corp confidence 8 : good call with their CFO").text
    assert "Confidence in renew the contract for Acme Corp: 8/10." in reply and "risk" not in reply
    rapport.clock.now += timedelta(days=7)
    reply = rapport.command("goal acme corp contract confidence 6").text
    assert "6/10 (was 8/10)" in reply and "At risk (a drop of 2 or more within 14 days)" in reply
    assert "Have the awkward conversation now" in reply
    [goal] = _goals(rapport)
    assert (goal.confidence, goal.confidence_at, goal.at_risk_since) == (6, rapport.clock.now, rapport.clock.now)
    assert [(c.confidence, c.note) for c in _checks(rapport)] == [(8, "good call with their CFO"), (6, None)]
    rapport.clock.now += timedelta(days=7)
    rapport.command("goal acme corp confidence 7")  # 1 under the 8 of 14 days ago: no longer at risk
    [goal] = _goals(rapport)
    assert goal.at_risk_since is None and goal.confidence == 7
    assert "At risk (3 or less)" in rapport.command("goal acme corp confidence 3").text


# --- end to end: the weekly card, its buttons, at risk, met or missed ------------------------------------------


def _said(rapport, channel="CACME") -> list[str]:
    return [words(p) for p in posts(rapport, channel)]


def _answers(message) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" and b["block_id"].startswith("goal-")
            for e in b["elements"]]


def test_the_weekly_check_is_answered_with_one_click_and_a_drop_puts_the_goal_at_risk(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("goal acme corp renew with 20 more seats by 2027-03-31 odds 90")  # Monday 16th
    for moment in (at(TUE), at(FRI), at(SUN, 23)):
        assert run_sweep(rapport, moment).planned.planned == {}
    run_sweep(rapport, at(NEXT_MON, 9))  # the first workday of the next week, as business hours open
    [card] = posts(rapport, "CACME")
    said = words(card)
    assert "How confident are you now that Acme Corp will reach renew with 20 more seats by" in said
    assert "You gave it 90% when you agreed it" in said and "Next: one click, 1 (it won't happen) to 10" in said
    assert _answers(card) == [f"goal_confidence_{n}" for n in range(1, 11)]
    rapport.clock.now = at(NEXT_MON, 11)
    _press(rapport, card, "goal_confidence_8")
    update = _latest_update(rapport)
    assert "<@UANA> answered 8/10" in json.dumps(update["blocks"]) and not _answers(update)
    [goal] = _goals(rapport)
    assert (goal.confidence, goal.confidence_at, goal.at_risk_since) == (8, at(NEXT_MON, 11), None)
    again = _press(rapport, card, "goal_confidence_3", user="UBEN")  # a stale copy: the first click stands
    [reply] = rapport.fake.wait_for(again)
    assert "Already handled by" in _words(reply.params) and "answered 8/10" in _words(reply.params)
    assert [c.confidence for c in _checks(rapport)] == [8]
    assert run_sweep(rapport, at(NEXT_MON + timedelta(days=1))).planned.planned == {}  # asked once a week

    monday = NEXT_MON + timedelta(days=7)
    run_sweep(rapport, at(monday))
    second = posts(rapport, "CACME")[1]
    assert "last time you said 8/10" in words(second)
    rapport.clock.now = at(monday, 11)
    warned = _press(rapport, second, "goal_confidence_6")  # a drop of 2 within 14 days
    assert "is now at risk" in _words(rapport.fake.wait_for(warned)[0].params)
    [goal] = _goals(rapport)
    assert goal.at_risk_since == at(monday, 11)
    status = rapport.command("status acme corp").text
    assert "confidence 6/10" in status and "Warning signs in the last 30 days: 1, 1 of them goals at risk." in status
    assert "1 goal at risk" in status and "commitment of ours late" not in status  # health names it for what it is
    run_sweep(rapport, at(monday + timedelta(days=1)))  # one card a client a day: the risk card comes Tuesday
    risk = words(posts(rapport, "CACME")[2])
    assert "is at risk: your confidence is 6/10, down from 8/10 within 14 days" in risk
    assert "have the awkward conversation now" in risk
    assert run_sweep(rapport, at(monday + timedelta(days=2))).planned.planned == {}  # once per spell of risk


def test_a_goal_past_its_date_asks_met_or_missed_on_the_same_card_as_another_goals_question(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("goal acme corp renew the contract by 2027-03-31 odds 70")
    rapport.command("goal acme corp launch the pilot by friday odds 50")
    run_sweep(rapport, at(NEXT_MON))
    [card] = posts(rapport, "CACME")
    said = words(card)
    assert "How confident are you now that Acme Corp will reach renew the contract" in said
    assert "The goal agreed with Acme Corp, launch the pilot, was due" in said and "Was it met?" in said
    assert _answers(card) == ["goal_met", "goal_missed", *(f"goal_confidence_{n}" for n in range(1, 11))]
    rapport.clock.now = at(NEXT_MON, 11)
    _press(rapport, card, "goal_met")
    update = _latest_update(rapport)
    assert _answers(update) == [f"goal_confidence_{n}" for n in range(1, 11)]  # the other question still stands
    assert "@UANA marked it met on " in _words({"blocks": update["blocks"]})
    contract, pilot = _goals(rapport)
    assert (pilot.status, pilot.closed_by, pilot.closed_at, contract.status) == ("met", "UANA", at(NEXT_MON, 11),
                                                                                 "open")
    again = _press(rapport, card, "goal_missed", user="UBEN")
    assert "Already handled by" in _words(rapport.fake.wait_for(again)[0].params)
    assert _goals(rapport)[1].status == "met"
    assert "launch the pilot" not in rapport.command("status acme corp").text.split("Changes")[0]
    reply = rapport.command("goal acme corp contract missed : budget went to the merger").text
    assert "Missed: renew the contract for Acme Corp (you said 70%)" in reply
    contract = _goals(rapport)[0]
    assert (contract.status, contract.closed_note) == ("missed", "budget went to the merger")
    with rapport.database.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("goal%"))))
    assert actions == {"goal", "goal_met", "goal_missed"}
    assert run_sweep(rapport, at(NEXT_MON + timedelta(days=7))).planned.planned == {}


def test_under_custom_hours_the_weekly_check_comes_on_tuesday(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("goal acme corp renew the contract by 2027-03-31")
    hours = parse_business_hours("tue-sat 09:00-17:00")
    assert run_sweep(rapport, at(NEXT_MON), business_hours=hours).planned.planned == {}
    report = run_sweep(rapport, at(NEXT_MON + timedelta(days=1)), business_hours=hours)
    assert report.planned.planned == {"goal_check": 1} and "planned 1 (goal check 1)" in report.summary()
    assert "How confident are you now" in _said(rapport)[0]


def test_app_home_shows_open_goals_with_their_confidence_and_calibration_after_five_closed(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Globex")
    rapport.command("goal acme corp renew the contract by 2027-03-31 odds 90")
    rapport.command("goal acme corp renew the contract confidence 3")
    view = json.dumps(_open_home(rapport), ensure_ascii=False)
    assert "Goals" in view and "1 open, 1 at risk, soonest due first" in view
    assert "renew the contract" in view and "confidence 3/10" in view and "at risk" in view
    assert "after 5 closed goals, your stated odds are compared with what happened (0 so far)" in view
    rapport.command("goal acme corp renew the contract met")
    for number, (odds, outcome) in enumerate([(90, "met"), (90, "missed"), (50, "met"), (50, "missed")]):
        rapport.command(f"goal globex milestone {number} by 2027-01-31 odds {odds}")
        rapport.command(f"goal globex milestone {number} {outcome}")
    view = json.dumps(_open_home(rapport, count=2), ensure_ascii=False)
    assert "0 open" in view
    assert "(5 closed goals): said 90%: met 2 of 3; said 50%: met 1 of 2." in view
    workspace_id = _goals(rapport)[0].workspace_id
    with rapport.database.sessions() as session:
        assert calibration_for(session, workspace_id=workspace_id, owner_id="UANA") == [
            CalibrationLine(90, 2, 3), CalibrationLine(50, 1, 2)]
        assert calibration_for(session, workspace_id=workspace_id, owner_id="UBEN") is None


def test_a_message_of_goal_cards_stays_within_slacks_block_limit():
    facts = {"what": "renew", "due": "2027-03-31", "odds": 70, "confidence": None, "confidence_at": None}
    cards = [CardView((NudgeView(2 * i, "goal_check", f"Client {i}", "UANA", facts),
                       NudgeView(2 * i + 1, "goal_due", f"Client {i}", "UANA", facts))) for i in range(10)]
    packed = pack(cards, lambda card: [r.kind for r in card.reasons])
    assert [len(p) for p in packed] == [6, 4]
    for group in packed:
        _, blocks, _ = message(group)
        assert len(blocks) <= 50


def test_the_log_form_records_a_goal(rapport):
    rapport.command("add Acme Corp")
    client_id = client_named(rapport.database, "Acme Corp").id
    rapport.command("", answered=False)
    view = _view(rapport.fake.wait_for("views.open")[0])
    assert "goal" in {o["value"] for b in view["blocks"] if b["block_id"] == "kind" for o in b["element"]["options"]}
    errors = json.loads(_submit(rapport, view, client_id=client_id, kind="goal", day="2026-11-10",
                                note="renew").body)["errors"]
    assert "is in the past: a goal is about what is still to come" in errors["date"]
    errors = json.loads(_submit(rapport, view, client_id=client_id, kind="goal", day="2027-03-31").body)["errors"]
    assert errors == {"note": "Say what success looks like for them, in a line."}
    assert _goals(rapport) == []
    assert _submit(rapport, view, client_id=client_id, kind="goal", day="2027-03-31", note="renew the contract"
                   ).body == ""
    [goal] = _goals(rapport)
    assert (goal.what, goal.due_on, goal.odds, goal.owner_id) == ("renew the contract", date(2027, 3, 31), 70, "UANA")


def test_a_goal_at_risk_and_a_complaint_put_the_client_at_risk(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("goal acme corp renew the contract by 2027-03-31")
    rapport.command("log acme corp complaint : the reports are late again")
    assert "Health: At risk" not in rapport.command("status acme corp").text
    rapport.command("goal acme corp confidence 2")
    status = rapport.command("status acme corp").text
    assert "Health: At risk" in status and "Warning signs in the last 30 days: 2, 1 of them goals at risk." \
        in status
    assert "Acme Corp" in rapport.command("list at-risk").text
    run_sweep(rapport, at(TUE))
    said = " ".join(_said(rapport))
    assert "The goal agreed with Acme Corp" in said and "Also: 2 warning signs in 30 days" in said
    rapport.clock.now = at(TUE, 11)
    rapport.command("goal acme corp met")
    assert "Health: At risk" not in rapport.command("status acme corp").text


def test_a_goal_word_after_a_short_name_is_not_read_as_a_misspelt_longer_one(rapport):
    rapport.command("add Acme")
    rapport.command("add Acme Metrics")
    rapport.command("goal acme renew the contract by 2027-03-31")
    assert "Met: renew the contract for Acme (you said 70%)" in rapport.command("goal acme met").text


def test_a_quiet_owner_change_moves_open_goals_and_leaves_closed_ones(rapport):
    rapport.command("add Acme Corp")
    rapport.command("goal acme corp renew the contract by 2027-03-31")
    rapport.command("goal acme corp renew met")
    rapport.command("goal acme corp launch the pilot by 2027-02-26 odds 50")
    rapport.command("owner acme corp <@UBOB>")
    assert sorted((g.what, g.status, g.owner_id) for g in _goals(rapport)) == [
        ("launch the pilot", "open", "UBOB"), ("renew the contract", "met", rapport.user)]
