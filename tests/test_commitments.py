"""Commitments (PRODUCT.md §4.10): promises we made and issues a client waits on us to fix. The rules at their
edges as pure functions of `now`; then end to end through signed commands, buttons, the form and later sweeps,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.nudges import rules
from bot.settings import Settings
from storage.models import Commitment, Nudge
from tests.conftest import _words, buttons
from tests.helpers import client_named
from tests.test_capture import _setup, message
from tests.test_home import _open_home, _press, _view
from tests.test_interactive import _latest_update, _submit
from tests.test_interactive import _press as _press_in_message
from tests.test_sweep import posts, run_sweep, words

HOURS = Settings.business_hours  # Monday to Friday, 09:00-17:00
LONDON, LOS_ANGELES = ZoneInfo("Europe/London"), ZoneInfo("America/Los_Angeles")
UTC_ZONE = ZoneInfo("UTC")
MON, TUE, WED, THU, FRI, SAT = (date(2026, 11, 16) + timedelta(days=i) for i in range(6))  # the fixture's week
NEXT_MON = date(2026, 11, 23)


def at(day: date, hour: int = 10, tz: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


# --- the rules, at their edges ----------------------------------------------------------------------------


def test_a_promise_is_recalled_the_business_day_before_across_a_weekend():
    made = at(WED)
    # due Monday: the business day before is Friday, not Sunday
    assert rules.promise_step(NEXT_MON, made, 0, at(THU), HOURS, UTC_ZONE) == rules.Step(None, 0, at(FRI, 9), None)
    assert rules.promise_step(NEXT_MON, made, 0, at(FRI), HOURS, UTC_ZONE).stage == "soon"
    # made on the eve itself: the person knows, so no reminder; the rule looks again the day after it is due
    step = rules.promise_step(NEXT_MON, at(FRI), 0, at(FRI, 11), HOURS, UTC_ZONE)
    assert step.stage is None and step.next_check == at(NEXT_MON + timedelta(days=1), 9)


def test_an_overdue_promise_is_recalled_every_two_business_days_three_times_at_most():
    due, made = FRI, at(MON)
    first = rules.promise_step(due, made, 0, at(SAT), HOURS, UTC_ZONE)  # seen on Saturday, shown on Monday
    assert (first.stage, first.number) == ("late", 1)
    assert first.next_check == at(WED + timedelta(days=7), 9)  # two business days after Monday
    assert first.late_since == at(SAT, 0)  # a warning sign from the first day it was late
    second = rules.promise_step(due, made, 1, at(WED + timedelta(days=7)), HOURS, UTC_ZONE)
    assert (second.stage, second.number) == ("late", 2) and second.next_check == at(FRI + timedelta(days=7), 9)
    third = rules.promise_step(due, made, 2, at(FRI + timedelta(days=7)), HOURS, UTC_ZONE)
    assert (third.stage, third.number, third.next_check) == ("late", 3, None)
    assert rules.promise_step(due, made, 3, at(FRI + timedelta(days=30)), HOURS, UTC_ZONE).stage is None


def test_a_promise_is_due_by_the_end_of_its_day_where_the_workspace_is():
    made = at(MON)
    # Thursday 23:00 in Los Angeles is already Friday in UTC: not overdue there yet, and too late to recall it
    on_the_day = rules.promise_step(THU, made, 0, at(FRI, 7), HOURS, LOS_ANGELES)
    assert on_the_day.stage is None and on_the_day.late_since is None
    late = rules.promise_step(THU, made, 0, at(FRI, 9), HOURS, LOS_ANGELES)
    assert late.stage == "late" and late.late_since == datetime(2026, 11, 20, 8, tzinfo=UTC)  # Fri 00:00 PST
    # in London the eve (Wednesday) starts at 09:00 London, 09:00 UTC in November
    assert rules.promise_step(THU, made, 0, at(TUE), HOURS, LONDON).next_check == at(WED, 9)


def test_an_issue_is_owed_an_update_every_two_business_days_weekends_not_counted():
    opened = at(THU, 15)
    assert rules.issue_step(opened, 0, at(FRI), 2, HOURS, UTC_ZONE).stage is None
    assert rules.issue_step(opened, 0, at(SAT + timedelta(days=1)), 2, HOURS, UTC_ZONE).stage is None  # Sunday
    owed = rules.issue_step(opened, 0, at(NEXT_MON), 2, HOURS, UTC_ZONE)
    assert (owed.stage, owed.number, owed.late_since) == ("update", 1, None)
    assert owed.next_check == at(NEXT_MON + timedelta(days=2), 9)
    # already carded for this one: nothing until the next is owed
    assert rules.issue_step(opened, 1, at(NEXT_MON, 16), 2, HOURS, UTC_ZONE).stage is None
    behind = rules.issue_step(opened, 1, at(NEXT_MON + timedelta(days=2)), 2, HOURS, UTC_ZONE)
    assert (behind.stage, behind.number) == ("update", 2)
    assert behind.late_since == at(NEXT_MON + timedelta(days=2), 9)  # two updates behind: a warning sign
    # three cards for one silence; after that App Home and the digest carry it
    assert rules.issue_step(opened, 3, at(NEXT_MON + timedelta(days=14)), 2, HOURS, UTC_ZONE).stage is None
    # RAPPORT_UPDATE_EVERY=1: every business day
    assert rules.issue_step(opened, 0, at(FRI), 1, HOURS, UTC_ZONE).stage == "update"


# --- end to end ------------------------------------------------------------------------------------------


def _commitments(rapport) -> list[Commitment]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Commitment).order_by(Commitment.id)))


def _said(rapport, channel="CACME") -> list[str]:
    return [words(p) for p in posts(rapport, channel)]


def test_a_promise_is_recalled_before_it_is_due_then_while_overdue_until_kept(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    reply = rapport.command("promise acme corp the revised proposal, standing by our quote by thursday").text
    assert "Promised Acme Corp: the revised proposal, standing by our quote, by" in reply
    [promise] = _commitments(rapport)
    assert (promise.kind, promise.due_on, promise.created_by) == ("promise", THU, "UANA")
    assert run_sweep(rapport, at(TUE)).planned.planned == {}
    run_sweep(rapport, at(WED))
    [eve] = _said(rapport)
    assert "You promised Acme Corp the revised proposal, standing by our quote by 19 Nov: the next business day." in eve
    assert "Then press Mark kept." in eve and "/client kept" not in eve  # the card has the button for it
    rapport.clock.now = at(WED, 11)
    status = rapport.command("status acme corp").text
    assert "Promised: the revised proposal, standing by our quote · by" in status and "(due tomorrow)" in status
    for day in (THU, FRI, SAT):
        run_sweep(rapport, at(day))
    assert len(_said(rapport)) == 2
    assert "Your promise to Acme Corp, the revised proposal, standing by our quote, was due 19 Nov, 1 day ago." in \
        _said(rapport)[1]
    for day in range(23, 31):  # Monday 23rd to Monday 30th: reminders on Tuesday and Thursday, then no more
        run_sweep(rapport, at(date(2026, 11, day)))
    said = _said(rapport)
    assert len(said) == 4
    assert "reminder 1 of 2" in said[2] and "reminder 2 of 2" in said[3]
    rapport.clock.now = at(date(2026, 11, 30))
    status = rapport.command("status acme corp").text
    assert "11 days late" in status and "Warning signs in the last 30 days: 1, 1 of them commitments" in status
    assert "1 commitment of ours late" in status
    assert "Kept your promise to Acme Corp" in rapport.command("kept acme corp").text
    assert "Promised:" not in rapport.command("status acme corp").text
    assert "has no open promise: nothing to mark kept" in rapport.command("kept acme corp").text
    assert run_sweep(rapport, at(date(2026, 12, 2))).planned.planned == {}


def test_done_on_a_promise_card_keeps_it_and_stops_every_reminder(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("promise acme corp the deck by wednesday")
    run_sweep(rapport, at(TUE))
    [card] = posts(rapport, "CACME")
    assert [e["text"]["text"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"].startswith("nudge_done")] == ["Mark kept"]
    rapport.clock.now = at(TUE, 11)
    _press_in_message(rapport, card, "nudge_done")
    assert "<@UANA> kept the promise" in json.dumps(_latest_update(rapport)["blocks"])
    [promise] = _commitments(rapport)
    assert promise.done_at == rapport.clock.now and promise.done_by == "UANA"
    for day in (THU, FRI, NEXT_MON, NEXT_MON + timedelta(days=2)):
        assert run_sweep(rapport, at(day)).planned.planned == {}


def test_a_promise_kept_while_its_cards_post_is_unsettled_shows_kept_on_the_card_once_it_is_found(rapport):
    """Issue 35: the card's post had an unknown outcome when the promise was kept. Its nudge is answered all the
    same, and once the card is found in the channel it is recorded as sent and rewritten as kept."""
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("promise acme corp the deck by wednesday")
    rapport.fake.fail_next("chat.postMessage", "drop")  # in the channel; its answer lost
    rapport.fake.fail_next("conversations.history", "5xx")
    run_sweep(rapport, at(TUE))
    [card] = posts(rapport, "CACME")
    rapport.clock.now = at(TUE, 11)
    assert "Kept your promise to Acme Corp" in rapport.command("kept acme corp").text
    run_sweep(rapport, at(TUE, 12))
    with rapport.database.sessions() as session:
        [nudge] = session.scalars(select(Nudge))
        assert (nudge.status, nudge.message_ts, nudge.handled_by) == ("sent", card["ts"], "UANA")
    assert posts(rapport, "CACME") == [card]
    [update] = rapport.fake.called("chat.update")
    assert update.params["ts"] == card["ts"] and "<@UANA> kept the promise" in json.dumps(update.params["blocks"])


def test_an_issue_is_owed_news_and_any_touch_to_them_resets_the_clock(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    reply = rapport.command("issue acme corp invoices show the wrong VAT eta friday").text
    assert "Open issue for Acme Corp: invoices show the wrong VAT, estimate" in reply
    assert "status update every 2 business days" in reply
    run_sweep(rapport, at(TUE))
    assert _said(rapport) == []
    run_sweep(rapport, at(WED))
    [first] = _said(rapport)
    assert "Acme Corp is waiting for news on invoices show the wrong VAT: nothing from you since it was raised" in first
    assert "Record update sent" in first and "Fixed? /client resolved Acme Corp" in first
    rapport.clock.now = at(WED, 11)
    rapport.command("log acme corp email to : status: fix in review")  # an update: the clock starts again
    assert "<@UANA> logged an email" in json.dumps(_latest_update(rapport)["blocks"])
    rapport.command("log acme corp call from")  # a touch from them is no update from us
    assert run_sweep(rapport, at(THU)).planned.planned == {}
    run_sweep(rapport, at(FRI))
    assert "nothing from you since your last update" in _said(rapport)[1]
    run_sweep(rapport, at(NEXT_MON))  # Friday's estimate has passed
    estimate = _said(rapport)[2]
    assert "The estimate you gave Acme Corp for invoices show the wrong VAT" in estimate and "has passed" in estimate
    rapport.clock.now = at(NEXT_MON, 11)
    assert "New estimate for Acme Corp" in rapport.command(
        "issue acme corp invoices show the wrong VAT eta 2026-11-27").text
    [issue] = _commitments(rapport)
    assert issue.due_on == date(2026, 11, 27)
    assert "Resolved for Acme Corp" in rapport.command("resolved acme corp vat : fixed in release 4.2").text
    [issue] = _commitments(rapport)
    assert issue.done_note == "fixed in release 4.2"
    for day in range(24, 31):
        assert run_sweep(rapport, at(date(2026, 11, day))).planned.planned == {}


def test_a_message_captured_from_our_side_is_a_status_update(capturing):
    rapport = capturing
    _setup(rapport)
    rapport.command("issue acme corp the export times out")
    message(rapport, "UJANE", at(TUE, 11), text="any news?")  # theirs: no update
    rapport.clock.now = at(TUE, 12)
    message(rapport, "UANA", at(TUE, 12), text="we found it, fix on Thursday")
    [issue] = _commitments(rapport)
    assert issue.update_since == at(TUE, 12)
    assert run_sweep(rapport, at(WED)).planned.planned.get("issue") is None
    assert run_sweep(rapport, at(THU)).planned.planned["issue"] == 1  # two business days after Tuesday's message


def test_an_issue_two_updates_behind_and_a_complaint_put_the_client_at_risk(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("issue acme corp reports are empty")
    rapport.command("log acme corp complaint : reports empty again")
    run_sweep(rapport, at(WED))
    assert "at risk" not in " ".join(_said(rapport)).lower()
    run_sweep(rapport, at(FRI))  # four business days without news: two updates behind, a warning sign
    said = " ".join(_said(rapport))
    assert "a complaint" in said and "an issue left without news" in said
    rapport.clock.now = at(FRI, 11)
    status = rapport.command("status acme corp").text
    assert "Health: At risk" in status and "2 warning signs in 30 days (1 of them ours)" in status
    assert "Acme Corp" in rapport.command("list at-risk").text
    rapport.command("log acme corp email to : where we are")
    assert "Health: At risk" not in rapport.command("status acme corp").text


def test_bad_input_gets_a_clear_answer_and_writes_nothing(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Acme Labs")
    cases = {
        "promise acme corp the deck by 2026-11-01": "2026-11-01 is in the past",
        "promise acme corp the deck by yesterday": "yesterday is in the past",
        "promise acme corp the deck by someday": "I can't read 'someday' as a day",
        "promise acme corp the deck": "Say by when, like /client promise Acme Corp",
        "promise acme corp by friday": "Say what",
        "promise globex the deck by friday": "No client matches",
        f"promise acme corp {'x' * 301} by friday": "That is 301 characters; say it in at most 300",
        "issue acme corp": "Say what",
        "issue acme corp login fails eta last week": "I can't read 'last week' as a day",
        "kept acme corp": "Acme Corp has no open promise: nothing to mark kept",
        "resolved acme corp": "Acme Corp has no open issue: nothing to mark resolved",
    }
    for text, expected in cases.items():
        assert expected in rapport.command(text).text, text
    assert _commitments(rapport) == []


def test_kept_finds_the_promise_by_its_words_and_lists_them_when_ambiguous(rapport):
    rapport.command("add Acme Corp")
    rapport.command("promise acme corp the revised proposal by friday")
    rapport.command("promise acme corp the workshop agenda by 2026-11-27")
    both = rapport.command("kept acme corp").text
    assert "Acme Corp has 2 open promises: the revised proposal; the workshop agenda. Say which" in both
    assert "No open promise to Acme Corp matches 'invoice'" in rapport.command("kept acme corp invoice").text
    assert all(c.done_at is None for c in _commitments(rapport))
    assert "the workshop agenda" in rapport.command("kept acme corp agenda").text
    assert [c.done_at is None for c in _commitments(rapport)] == [True, False]


def test_app_home_lists_what_is_owed_with_kept_and_resolved(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("promise acme corp the deck by wednesday")
    rapport.command("issue acme corp sso is broken eta friday")
    run_sweep(rapport, at(TUE))  # the eve of Wednesday's promise: its card is posted
    rapport.clock.now = at(TUE, 11)
    view = _open_home(rapport)
    text = json.dumps(view, ensure_ascii=False)
    assert "Promises and issues" in text and "1 promise and 1 open issue" in text
    owed = [b for b in view["blocks"] if b.get("block_id", "").startswith("owed-")]
    assert [b["elements"][0]["action_id"] for b in owed] == ["home_kept", "home_resolved"]
    assert len(view["blocks"]) <= 100
    _press(rapport, "home_kept", owed[0]["elements"][0]["value"])
    republished = json.dumps(rapport.fake.wait_for("views.publish", count=2)[1].params["view"], ensure_ascii=False)
    assert "0 promises and 1 open issue" in republished
    assert "<@UANA> kept the promise" in json.dumps(_latest_update(rapport)["blocks"])  # its posted card too
    _press(rapport, "home_resolved", owed[1]["elements"][0]["value"])
    rapport.fake.wait_for("views.publish", count=3)
    assert all(c.done_at is not None for c in _commitments(rapport))
    _press(rapport, "home_resolved", "999999")  # stale or foreign: nothing happens
    assert rapport.fake.wait_for("views.publish", count=4)


def test_the_log_form_records_a_promise_or_an_issue(rapport):
    rapport.command("add Acme Corp")
    client_id = client_named(rapport.database, "Acme Corp").id
    rapport.command("", answered=False)
    view = _view(rapport.fake.wait_for("views.open")[0])
    assert {"promise", "issue"} <= {o["value"] for b in view["blocks"] if b["block_id"] == "kind"
                                    for o in b["element"]["options"]}
    errors = json.loads(_submit(rapport, view, client_id=client_id, kind="promise", day="2026-11-10",
                                note="the deck").body)["errors"]
    assert "is in the past" in errors["date"]
    errors = json.loads(_submit(rapport, view, client_id=client_id, kind="issue", day="2026-11-16").body)["errors"]
    assert errors == {"note": "Say what you are fixing, in a line."}
    assert _commitments(rapport) == []
    assert _submit(rapport, view, client_id=client_id, kind="promise", day="2026-11-20", note="the deck").body == ""
    assert _submit(rapport, view, client_id=client_id, kind="issue", day="2026-11-16", note="sso broken").body == ""
    promise, issue = _commitments(rapport)
    assert (promise.kind, promise.what, promise.due_on) == ("promise", "the deck", FRI)
    assert (issue.kind, issue.what, issue.due_on) == ("issue", "sso broken", None)  # today: no estimate
    with rapport.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Nudge)) == 0  # and no touch was logged either


def test_the_digest_shows_promises_due_this_week_and_open_issues(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("add Globex channel <#CACME|acme>")
    rapport.command("promise acme corp the deck by 2026-11-25")
    rapport.command("promise globex the roadmap by 2026-12-15")  # not this week
    rapport.command("issue globex sso is broken")
    run_sweep(rapport, at(NEXT_MON), digest=(0, time(9)))
    digest = next(m for m in posts(rapport, "CACME") if m["text"].startswith("Weekly digest"))
    text = _words({"blocks": digest["blocks"]})
    assert "1 promise due this week · 1 open issue" in text
    assert "Acme Corp · the deck, due 25 Nov → deliver it, or say where it stands" in text
    assert "roadmap" not in text
    assert "Globex · sso is broken, open since 16 Nov, no news yet → send a status update" in text
    assert "1 promise due this week, 1 open issue" in digest["text"]


def test_forgetting_a_client_forgets_what_was_owed_to_them(rapport):
    rapport.command("add Acme Corp")
    rapport.command("promise acme corp the deck by friday")
    rapport.command("issue acme corp sso is broken")
    run_sweep(rapport, at(THU))
    assert _commitments(rapport) and nudges_about_commitments(rapport)
    forget, _ = buttons(rapport.command("forget acme corp"))
    assert "Forgot" in rapport.click(forget).text
    assert _commitments(rapport) == [] and nudges_about_commitments(rapport) == []


def nudges_about_commitments(rapport) -> list[Nudge]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Nudge).where(Nudge.commitment_id.is_not(None))))
