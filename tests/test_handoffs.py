"""Handoffs, closeouts (PRODUCT.md §4.13) and the referral channel (§4.14): the rules at their edges as pure
functions of `now`; then end to end through signed commands, a signed Events API message in a linked Slack Connect
channel, buttons and later sweeps, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from bot.handoffs.referable import Standing, failing, next_look, standing_of
from bot.nudges.cards import rebuilt
from bot.nudges.handoff_plans import after_workdays
from bot.relationship.thresholds import Threshold, first_quiet_due
from bot.settings import Settings
from storage.models import Client, Closeout, CloseoutTick, Goal, Handoff, Nudge
from tests.conftest import _words, buttons
from tests.helpers import client_named, interactions_of
from tests.test_capture import OURS, SHARED, THEIRS, message
from tests.test_interactive import _latest_update, _press
from tests.test_sweep import posts, run_sweep, words

HOURS = Settings.business_hours
DAY = timedelta(days=1)
MON = date(2026, 11, 16)  # the fixture's Monday


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _setup(rapport) -> None:
    """Acme Corp, owned by Ana, with Jane Doe as its primary contact, nudged in #acme and linked to a Slack Connect
    channel where Jane (their workspace) and Ana and Bob (ours) talk."""
    rapport.fake.channels.update({SHARED: {"is_member": True, "is_ext_shared": True}})
    rapport.fake.users.update({"UJANE": {"tz": "UTC", "team_id": THEIRS}, "UANA": {"tz": "UTC", "team_id": OURS},
                               "UBOB": {"tz": "UTC", "team_id": OURS}})
    rapport.command("add Acme Corp channel <#CACME|acme> contact Jane Doe")
    assert "Linked" in rapport.command(f"link acme corp <#{SHARED}|acme-shared>").text


def _rows(rapport, model, **where):
    with rapport.database.sessions() as session:
        stmt = select(model).filter_by(**where).order_by(model.id)
        return list(session.scalars(stmt))


def _kinds(rapport) -> list[str]:
    return [n.kind for n in _rows(rapport, Nudge)]


def _said(rapport) -> list[str]:
    return [words(p) for p in posts(rapport, "CACME")]


def _add_goal(rapport, client_id: int, owner: str, status: str = "open") -> None:
    with rapport.database.sessions.begin() as session:
        session.add(Goal(workspace_id=1, client_id=client_id, owner_id=owner, what=f"a goal {status}",
                         due_on=date(2027, 3, 1), odds=70, barriers="[]", created_at=at(MON), created_by=owner,
                         status=status))


def _accessories(reply) -> dict[str, dict]:
    """The checklist's Tick buttons, by item."""
    return {b["accessory"]["value"].split(":")[1]: b["accessory"] for b in reply.json()["blocks"]
            if b.get("accessory", {}).get("action_id") == "closeout_tick"}


# --- the rules, at their edges ----------------------------------------------------------------------------


def test_the_quiet_threshold_is_halved_for_a_spell_that_passes_it_inside_the_90_days():
    spell, threshold = at(MON), Threshold(30, "default")
    assert first_quiet_due(spell, threshold) == spell + 30 * DAY
    assert first_quiet_due(spell, threshold, spell + 90 * DAY) == spell + 15 * DAY
    late_spell = spell + 80 * DAY  # the halved 15 days would end after the window: the whole 30 apply
    assert first_quiet_due(late_spell, threshold, spell + 90 * DAY) == late_spell + 30 * DAY
    assert first_quiet_due(spell, Threshold(7, "own"), spell + 90 * DAY) == spell + 4 * DAY


def test_two_business_days_skip_the_weekend():
    friday = at(MON + 4 * DAY, 15)
    assert after_workdays(friday, 2, HOURS, UTC) == at(MON + 8 * DAY, 15)  # Tuesday, same time


def test_the_referral_card_needs_every_condition():
    now = at(MON)
    good = Standing(label_now="Deep", label_then="Deep", last_win_at=now - 3 * DAY, open_things=0, asked_at=None)
    assert failing(good, now) == []
    cases = {
        "not Deep for 60 days": Standing("Deep", "Steady", now - 3 * DAY, 0, None),
        "no praise or acted in 14 days": Standing("Deep", "Deep", now - 15 * DAY, 0, None),
        "something open": Standing("Deep", "Deep", now - 3 * DAY, 1, None),
        "asked within 90 days": Standing("Deep", "Deep", now - 3 * DAY, 0, now - 89 * DAY),
    }
    for reason, standing in cases.items():
        assert failing(standing, now) == [reason], reason
    assert failing(Standing("Deep", "Deep", now - 3 * DAY, 0, now - 90 * DAY), now) == []
    assert next_look(good, now) == now + DAY  # once a day while the win is recent
    assert next_look(Standing("Deep", "Deep", now - 13 * DAY - time_of(1), 0, None), now) is None


def time_of(hours: int) -> timedelta:
    return timedelta(hours=hours)


# --- handoff, end to end ----------------------------------------------------------------------------------


def test_a_handoff_moves_what_is_open_and_the_new_owners_captured_message_closes_the_introduction(capturing):
    rapport = capturing
    _setup(rapport)
    acme = client_named(rapport.database, "Acme Corp")
    rapport.command("promise acme corp the revised proposal by friday")
    rapport.command("issue acme corp sso is broken")
    _add_goal(rapport, acme.id, "UANA")
    _add_goal(rapport, acme.id, "UANA", status="met")  # a closed goal stays Ana's: calibration is per owner
    reply = rapport.command("handoff acme corp to <@UBOB> : Ana moves to the Globex account").text
    assert "Acme Corp handed from @UANA to @UBOB, with 1 open promise, 1 open issue and 1 open goal" in reply
    assert "introduce @UBOB to Jane Doe" in reply and "counts as quiet after 15 days instead of 30" in reply
    assert client_named(rapport.database, "Acme Corp").owner_id == "UBOB"
    assert sorted((g.status, g.owner_id) for g in _rows(rapport, Goal)) == [("met", "UANA"), ("open", "UBOB")]
    status = rapport.command("status acme corp").text
    assert "Handed from @UANA to @UBOB on" in status and "introduction to the client still to make" in status
    assert "Ana moves to the Globex account" in status
    assert "handed it over to @UBOB" in status  # the audit trail
    assert "Quiet threshold halved to 15 days after the handoff" in status

    run_sweep(rapport, rapport.clock.now)
    [intro] = _said(rapport)
    assert "@UANA, you handed Acme Corp to @UBOB on" in intro and "introduce them to Jane Doe" in intro
    assert "Mark introduced" in json.dumps(posts(rapport, "CACME")[0]["blocks"])

    # Bob writes in the linked Slack Connect channel the next morning: the introduction is made
    rapport.clock.now = at(MON + DAY, 9)
    message(rapport, "UBOB", rapport.clock.now, text="Hi Jane, Bob here: I look after you from now on")
    [handoff] = _rows(rapport, Handoff)
    assert handoff.introduced_at == at(MON + DAY, 9) and handoff.introduced_by == "UBOB"
    assert "<@UBOB>" in json.dumps(_latest_update(rapport)["blocks"])  # the card reads as dealt with, by Bob
    assert "introduced" in rapport.command("status acme corp").text
    for day in (2, 3, 4):  # past the two business days: no reminder
        run_sweep(rapport, at(MON + day * DAY))
    assert "intro_reminder" not in _kinds(rapport)


def test_the_introduction_is_recalled_after_two_business_days_until_introduced(rapport):
    _setup(rapport)
    rapport.clock.now = at(MON + 4 * DAY, 11)  # a Friday
    rapport.command("handoff acme corp to <@UBOB>")
    run_sweep(rapport, at(MON + 4 * DAY, 12))
    rapport.command("log acme corp call from", user="UANA")  # Ana, not Bob: no introduction
    run_sweep(rapport, at(MON + 7 * DAY, 12))  # Monday: one business day
    assert _kinds(rapport) == ["intro"]
    run_sweep(rapport, at(MON + 8 * DAY, 12))  # Tuesday: two business days
    assert _kinds(rapport) == ["intro", "intro_reminder"]
    reminder = posts(rapport, "CACME")[-1]
    assert "still introduce them to Jane Doe" in words(reminder)
    rapport.clock.now = at(MON + 8 * DAY, 13)
    _press(rapport, reminder, "nudge_done")
    assert "<@UANA> introduced them" in json.dumps(_latest_update(rapport, count=2)["blocks"])
    [handoff] = _rows(rapport, Handoff)
    assert handoff.introduced_by == "UANA" and handoff.introduced_at == rapport.clock.now
    run_sweep(rapport, at(MON + 10 * DAY, 12))
    assert _kinds(rapport) == ["intro", "intro_reminder"]


def test_the_halved_threshold_lasts_90_days_and_not_after(rapport):
    _setup(rapport)
    rapport.command("log acme corp call from")  # Monday 15:00: the spell starts
    rapport.command("handoff acme corp to <@UBOB>")
    run_sweep(rapport, rapport.clock.now)
    assert run_sweep(rapport, rapport.clock.now + 14 * DAY).planned.planned.get("quiet") is None
    run_sweep(rapport, rapport.clock.now + 15 * DAY + time_of(1))
    quiet = [n for n in _rows(rapport, Nudge) if n.kind == "quiet"]
    assert len(quiet) == 1 and json.loads(quiet[0].facts)["threshold"] == 15
    assert any("no word from them since 16 Nov, 15 days ago; watched twice as closely for 90 days after a handoff" in s
               for s in _said(rapport))
    # day 80: a new spell whose halved threshold would pass after day 90 has to pass the whole 30 days
    rapport.clock.now = at(MON) + 80 * DAY
    rapport.command("log acme corp email from")
    spell = rapport.clock.now
    assert client_named(rapport.database, "Acme Corp").next_quiet_at == spell + 30 * DAY
    assert run_sweep(rapport, spell + 16 * DAY).planned.planned.get("quiet") is None
    assert run_sweep(rapport, spell + 30 * DAY + time_of(1)).planned.planned.get("quiet") == 1
    assert "halved to 15 days" in rapport.command("status acme corp").text  # day 80: still inside the window
    rapport.clock.now = at(MON) + 91 * DAY
    assert "halved" not in rapport.command("status acme corp").text


def test_the_new_owner_is_asked_how_it_goes_at_30_60_and_90_days(rapport):
    _setup(rapport)
    rapport.command("handoff acme corp to <@UBOB>")
    start = rapport.clock.now
    for days in (1, 29):
        run_sweep(rapport, start + days * DAY)
    assert "handoff_checkin" not in _kinds(rapport)
    for days in (30, 45, 60, 61, 90, 120):
        rapport.command("log acme corp call from", user="UBOB")  # not quiet: only the check-ins are due
        run_sweep(rapport, start + days * DAY)
    checkins = [json.loads(n.facts) for n in _rows(rapport, Nudge, kind="handoff_checkin")]
    assert [(f["days"], f["number"]) for f in checkins] == [(30, 1), (60, 2), (90, 3)]
    said = " ".join(_said(rapport))
    assert "30 days since you took over Acme Corp from @UANA (check-in 1 of 3)" in said
    assert "90 days since you took over" in said
    [handoff] = _rows(rapport, Handoff)
    assert handoff.next_check_at is None


def test_handoff_input_is_checked_and_owner_stays_quiet(rapport):
    _setup(rapport)
    cases = {
        "handoff acme corp": "Say who takes it over, like /client handoff Acme Corp to @bob",
        "handoff acme corp to bob": "Name the new owner with an @mention",
        "handoff acme corp to <@UANA>": "already owned by that person",
        "handoff globex to <@UBOB>": "No client matches",
    }
    for text, expected in cases.items():
        assert expected in rapport.command(text).text, text
    refused = rapport.command("handoff acme corp to <@UBOB>", user="UBOB").text
    assert "Only Acme Corp's owner or a workspace admin can hand over" in refused
    assert _rows(rapport, Handoff) == []
    rapport.command("owner acme corp <@UBOB>")  # the quiet change: no ceremony
    run_sweep(rapport, rapport.clock.now)
    assert _rows(rapport, Handoff) == [] and client_named(rapport.database, "Acme Corp").halved_until is None


# --- closeout, end to end ---------------------------------------------------------------------------------


def _tick(rapport, button, user):
    return rapport.click(button, user=user)


def test_a_closeout_is_ticked_by_two_people_and_what_is_left_is_nudged_once(rapport):
    _setup(rapport)
    rapport.clock.now = at(MON, 11)
    opened = rapport.command("closeout acme corp : phase 1 delivered")
    tick = _accessories(opened)
    assert list(tick) == ["delivered", "issues", "access", "owner", "checkin"]
    assert "Closeout of Acme Corp opened" in opened.text and "0 of 5 ticked" in opened.text
    after = _tick(rapport, tick["delivered"], "UANA")
    assert "1 of 5 ticked" in _words(after.params)
    assert "What was delivered and what was deferred" in _words(after.params)
    # Bob cannot open a second one; he is shown the open one and ticks from it
    again = rapport.command("closeout acme corp", user="UBOB")
    assert "already has a closeout open" in again.text and list(_accessories(again)) == [
        "issues", "access", "owner", "checkin"]
    _tick(rapport, _accessories(again)["access"], "UBOB")
    late = _tick(rapport, tick["delivered"], "UBOB")  # a stale copy of Ana's card
    assert "Already handled by @UANA" in _words(late.params)
    assert "already has a closeout open" in rapport.command("closeout acme corp : phase 2").text
    status = rapport.command("status acme corp").text
    assert "Closeout opened" in status and "2 of 5 ticked" in status
    assert "✓ What was delivered and what was deferred, sent to the client · @UANA" in status
    assert "✓ Access and logins handed over · @UBOB" in status and "☐ Open issues listed for them" in status
    assert "opened a project closeout" in status and "ticked on the closeout" in status
    for day in (1, 2, 4):  # Tuesday to Friday: not yet five business days
        run_sweep(rapport, at(MON + day * DAY, 12))
    assert "closeout" not in _kinds(rapport)
    run_sweep(rapport, at(MON + 7 * DAY, 12))  # the next Monday, five business days on
    [nudge] = _rows(rapport, Nudge, kind="closeout")
    assert json.loads(nudge.facts)["left"] == ["issues", "owner", "checkin"]
    said = _said(rapport)[-1]
    assert "has 3 of 5 items unticked: open issues listed for them, who looks after them now, told" in said
    run_sweep(rapport, at(MON + 14 * DAY, 12))
    assert _kinds(rapport).count("closeout") == 1  # once
    for item in ("issues", "owner", "checkin"):
        last = _tick(rapport, tick[item], "UANA")
    assert "Every item is ticked" in _words(last.params)
    assert "Closeout opened" in rapport.command("status acme corp").text
    assert "Closeout of Acme Corp opened" in rapport.command("closeout acme corp : phase 2").text  # a new one


def test_a_tick_from_another_workspace_or_a_made_up_value_does_nothing(rapport):
    _setup(rapport)
    tick = _accessories(rapport.command("closeout acme corp"))
    forged = {**tick["issues"], "value": tick["issues"]["value"].replace("issues", "nonsense")}
    assert "out of date" in _words(rapport.click(forged).params)
    assert "no longer exists" in _words(rapport.click({**tick["issues"], "value": "99999:issues"}).params)


# --- the referral channel ---------------------------------------------------------------------------------


def _deep_history(rapport, name: str, now: datetime, *, signals_from: int = 150) -> None:
    """A client tracked for 200 days who hears from us every 10 days and has shown three "they do" signals, the
    first `signals_from` days ago."""
    rapport.clock.now = now - 200 * DAY
    rapport.command(f"add {name}")
    rapport.clock.now = now
    for ago in range(190, 0, -10):
        rapport.command(f"log {name} call from {(now - ago * DAY).date().isoformat()}")
    for kind, ago in (("help", signals_from), ("strategic", signals_from - 10), ("early", signals_from - 20)):
        rapport.command(f"log {name} {kind} {(now - ago * DAY).date().isoformat()}")


def test_the_referral_card_comes_only_when_every_condition_holds_and_the_digest_counts_referrers(rapport):
    now = at(MON) + 7 * DAY  # Monday the 23rd, 10:00
    for name in ("Deep Co", "Young Co", "Stale Co", "Open Co", "Asked Co"):
        _deep_history(rapport, name, now, signals_from=40 if name == "Young Co" else 150)
    with rapport.database.sessions.begin() as session:
        asked = session.scalars(select(Client).where(Client.name == "Asked Co")).one()
        asked.referable_asked_at = now - 89 * DAY
    rapport.command("issue open co the export times out")
    for name in ("Deep Co", "Young Co", "Open Co", "Asked Co"):
        rapport.command(f"log {name} praise {(now - 3 * DAY).date().isoformat()} : loved the workshop")
    rapport.command(f"log stale co acted {(now - 20 * DAY).date().isoformat()}")
    rapport.command("referral deep co -> Newcomer Ltd")
    assert "Health: Deep" in rapport.command("status deep co").text
    expected = {"Deep Co": [], "Young Co": ["not Deep for 60 days"], "Stale Co": ["no praise or acted in 14 days"],
                "Open Co": ["something open"], "Asked Co": ["asked within 90 days"]}
    with rapport.database.sessions() as session:
        for name, reasons in expected.items():
            client = session.scalars(select(Client).where(Client.name == name)).one()
            assert failing(standing_of(session, client, now), now) == reasons, name
    report = run_sweep(rapport, now, digest=(0, time(9)))
    [card] = _rows(rapport, Nudge, kind="referable")
    assert card.client_id == client_named(rapport.database, "Deep Co").id
    assert report.planned.planned["referable"] == 1
    digest = next(m for m in posts(rapport) if m["text"].startswith("Weekly digest"))
    assert "Referral channel: 1 of 5 active clients referred someone in the last 12 months (20%)" in _words(
        {"blocks": digest["blocks"]})
    # the rule looks daily while the win is recent: Asked Co's 90 days are up the next day; Deep Co is not asked
    # twice within 90 days
    run_sweep(rapport, now + DAY)
    cards = _rows(rapport, Nudge, kind="referable")
    assert [c.client_id for c in cards] == [client_named(rapport.database, n).id for n in ("Deep Co", "Asked Co")]
    for days in range(2, 15):
        run_sweep(rapport, now + days * DAY)
    assert len(_rows(rapport, Nudge, kind="referable")) == 2
    posted = [words(p) for p in posts(rapport) if "make referring you easy" in words(p)]
    assert posted and "Deep Co" in posted[0]


def test_not_relevant_on_the_introduction_card_asks_nothing_more(rapport):
    _setup(rapport)
    rapport.command("handoff acme corp to <@UBOB>")
    run_sweep(rapport, rapport.clock.now)
    [intro] = posts(rapport, "CACME")
    _press(rapport, intro, "nudge_not_relevant")
    _latest_update(rapport)
    for day in (1, 2, 3, 4):
        run_sweep(rapport, at(MON + day * DAY, 16))
    assert _kinds(rapport) == ["intro"]


def test_forgetting_a_client_forgets_its_handoffs_and_closeouts(rapport):
    _setup(rapport)
    rapport.command("handoff acme corp to <@UBOB>")
    _tick(rapport, _accessories(rapport.command("closeout acme corp"))["access"], "UANA")
    forget, _ = buttons(rapport.command("forget acme corp", user="UBOB"))
    assert "Forgot" in rapport.click(forget, user="UBOB").text
    assert _rows(rapport, Handoff) == [] and _rows(rapport, Closeout) == [] and _rows(rapport, CloseoutTick) == []


def test_done_on_a_handoff_check_in_records_the_check_in(rapport):
    _setup(rapport)
    rapport.command("handoff acme corp to <@UBOB>")
    start = rapport.clock.now
    rapport.clock.now = start + 29 * DAY
    rapport.command("log acme corp call from", user="UBOB")
    run_sweep(rapport, start + 30 * DAY)
    card = posts(rapport, "CACME")[-1]
    assert "30 days since you took over" in words(card)
    rapport.clock.now = start + 30 * DAY + time_of(1)
    _press(rapport, card, "nudge_done", user="UBOB")
    assert "<@UBOB> checked in" in json.dumps(_latest_update(rapport)["blocks"])
    assert [(i.kind, i.logged_by) for i in interactions_of(rapport.database, "Acme Corp")][-1] == ("checkin", "UBOB")


def test_with_no_channel_the_introduction_goes_to_the_previous_owner_and_the_check_ins_to_the_new_one(rapport):
    rapport.fake.users.update({"UANA": {"tz": "UTC", "team_id": OURS}, "UBOB": {"tz": "UTC", "team_id": OURS}})
    rapport.command("add Acme Corp contact Jane Doe")  # no channel, no default: cards go by DM
    rapport.command("handoff acme corp to <@UBOB>")
    run_sweep(rapport, rapport.clock.now)
    [intro] = posts(rapport, "DANA")  # Ana's DM (the fake's D + user)
    assert "introduce them to Jane Doe" in words(intro) and "For <@" not in json.dumps(intro["blocks"])  # hers
    assert intro["text"].startswith("Acme Corp: handed over on 16 Nov, and Jane Doe not yet introduced")
    assert posts(rapport, "DBOB") == []
    with rapport.database.sessions() as session:  # the card as any later rewrite draws it: still Ana's, in her DM
        _, _, _, blocks = rebuilt(session, 1, "DANA", intro["ts"]) or (None, None, None, [])
    assert '"user_id": "UANA"}, {"type": "text", "text": ", you handed "' in json.dumps(blocks)
    assert "For <@UBOB>" not in json.dumps(blocks) and "For <@UANA>" not in json.dumps(blocks)
    run_sweep(rapport, rapport.clock.now + 30 * DAY)
    # Bob's card that day: gone quiet (after the halved 15 days), his first check-in, and the reminder to Ana merged
    # into it (one card is one message, so it is not split between two people's DMs)
    assert [n.kind for n in _rows(rapport, Nudge) if n.channel_id == "DBOB"] == [
        "quiet", "intro_reminder", "handoff_checkin"]


def test_two_ticks_of_one_item_at_once_record_one_and_the_other_hears_who(rapport):
    _setup(rapport)
    tick = _accessories(rapport.command("closeout acme corp"))["access"]
    barrier = threading.Barrier(2)

    def press(user: str) -> str:
        barrier.wait()
        return _words(_tick(rapport, tick, user).params)

    with ThreadPoolExecutor(2) as pool:
        said = list(pool.map(press, ["UANA", "UBOB"]))
    [row] = _rows(rapport, CloseoutTick)
    assert row.item == "access" and row.by in ("UANA", "UBOB")
    assert sum(f"Already handled by @{row.by}" in s for s in said) == 1, said  # the other click changed nothing
