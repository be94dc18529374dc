"""App Home for a user with none, a few and hundreds of clients, and what its buttons do."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest

from tests.conftest import _words
from tests.helpers import client_named
from tests.snapshots import reading
from tests.test_sweep import MONDAY, run_sweep

DAY = timedelta(days=1)


def _open_home(rapport, user="UANA", count=1):
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": f"Ev{count}",
                       "event_time": 1, "event": {"type": "app_home_opened", "user": user, "tab": "home",
                                                  "channel": "D1", "event_ts": "1.0"}})
    from tests.conftest import sign
    assert rapport.post(body, {**sign(body), "Content-Type": "application/json"}).status == 200
    return _view(rapport.fake.wait_for("views.publish", count=count)[count - 1])


def _view(call):
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _press(rapport, action_id, value, selected=False):
    action = {"type": "static_select" if selected else "button", "action_id": action_id, "block_id": "b",
              "action_ts": "1"}
    action["selected_option" if selected else "value"] = {"value": value} if selected else value
    rapport.interact({"type": "block_actions", "trigger_id": "trig.home", "container": {"type": "view"},
                      "view": {"id": "VHOME", "type": "home"}, "actions": [action]})


def test_a_user_with_no_clients_sees_how_to_start(rapport):
    view = _open_home(rapport)
    text = json.dumps(view, ensure_ascii=False)
    assert "You don't own any clients yet" in text
    assert ("Your clients: 0 gone quiet · 0 with no reply · 0 check-ins due this week · 0 referrers to thank · 0 with "
            "2+ warning signs") in text
    assert any(e.get("action_id") == "home_log" for b in view["blocks"] if b["type"] == "actions"
               for e in b["elements"])


def test_what_needs_attention_comes_first(rapport):
    rapport.command("add Calm Co")
    rapport.command("log calm co call from")
    rapport.command("add Risky Ltd")
    rapport.command("log risky ltd cancel 3d ago")
    rapport.command("log risky ltd dispute")
    rapport.command("add Quiet Inc every 1w")
    rapport.command("add Someone Else's", user="UBEN")
    rapport.command("referral calm co -> New Lead")
    run_sweep(rapport, MONDAY + 2 * DAY)  # thanks for Calm Co, at-risk for Risky Ltd
    rapport.clock.now = MONDAY + 3 * DAY
    view = _open_home(rapport)
    names = [b["elements"][0]["elements"][0]["text"] for b in view["blocks"] if b["type"] == "rich_text"
             and b["elements"][0]["elements"][0].get("style") == {"bold": True}]
    assert names[0] == "Today: 0 of your 5 cards sent · nothing waiting" and names[1] == "Your clients (4)"
    assert names[2:4] in (["Calm Co", "Risky Ltd"], ["Risky Ltd", "Calm Co"]), "a card out and warning signs first"
    assert "Someone Else's" not in names and "New Lead" in names
    text = json.dumps(view, ensure_ascii=False)
    assert "1 referrer to thank · 1 with 2+ warning signs" in text
    # Quiet Inc's check-in falls due next Monday: not this week, whatever seven days from Thursday would say
    assert "0 check-ins due this week" in text and "check-in due 23 Nov" in _words(view)
    assert "Risky Ltd · At risk, card sent, 2 warning signs in 30 days" in _words(view)


def test_hundreds_of_clients_are_paged_within_slacks_limit(rapport):
    from sqlalchemy import insert

    from storage.models import Client, Workspace

    with rapport.database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=MONDAY)
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:03d}", "name_key": f"client {i:03d}",
             "owner_id": "UANA", "status": "active", "created_at": MONDAY, "created_by": "UANA"}
            for i in range(250)])
    view = _open_home(rapport)
    assert len(view["blocks"]) <= 100
    assert "Page 1 of 16 · 250 clients" in json.dumps(view, ensure_ascii=False)
    _press(rapport, "home_page", "2")
    page_two = _view(rapport.fake.wait_for("views.publish", count=2)[1])
    assert "Page 2 of 16" in json.dumps(page_two, ensure_ascii=False) and len(page_two["blocks"]) <= 100


def test_home_buttons_log_open_and_snooze(rapport):
    rapport.command("add Acme Corp")
    client_id = client_named(rapport.database, "Acme Corp").id
    _press(rapport, "home_log", str(client_id))
    form = _view(rapport.fake.wait_for("views.open")[0])
    assert form["callback_id"] == "log_touch"
    assert json.dumps(form).count("Acme Corp") == 1
    _press(rapport, "home_open", str(client_id))
    card = _view(rapport.fake.wait_for("views.open", count=2)[1])
    assert card["type"] == "modal" and "Acme Corp" in json.dumps(card)
    _press(rapport, "home_snooze", f"{client_id}:2w", selected=True)
    rapport.fake.wait_for("views.publish")
    assert client_named(rapport.database, "Acme Corp").snoozed_until == MONDAY + 14 * DAY
    _press(rapport, "home_open", "999999")
    gone = _view(rapport.fake.wait_for("views.open", count=3)[2])
    assert "no longer exists" in json.dumps(gone)


def test_a_touch_logged_from_the_home_tab_shows_there_at_once(rapport):
    rapport.command("add Acme Corp")
    client_id = client_named(rapport.database, "Acme Corp").id
    _press(rapport, "home_log", str(client_id))
    form = _view(rapport.fake.wait_for("views.open")[0])
    values = {
        "client": {"client": {"type": "external_select", "selected_option": {"value": str(client_id)}}},
        "kind": {"kind": {"type": "static_select", "selected_option": {"value": "call"}}},
        "direction": {"direction": {"type": "static_select", "selected_option": {"value": "from"}}},
        "date": {"date": {"type": "datepicker", "selected_date": "2026-11-16"}},
        "note": {"note": {"type": "plain_text_input", "value": None}},
    }
    reply = rapport.interact({"type": "view_submission", "trigger_id": "t", "view": {
        "id": "V1", "type": "modal", "callback_id": form["callback_id"], "private_metadata": form["private_metadata"],
        "state": {"values": values}}})
    assert reply.body == ""
    [published] = rapport.fake.wait_for("views.publish")
    home = json.dumps(_view(published), ensure_ascii=False)
    assert "Acme Corp" in home and "Last heard from them 16 Nov" in home and "Not heard from yet" not in home


SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one snapshot, not one per database


def _busy_home(rapport):
    """Nine clients of Ana's: five gone quiet (two carded today, three waiting), one with a check-in in the past,
    warning signs, a referrer to thank, a promise and an issue."""
    for i in range(5):
        rapport.command(f"add Quiet {i} channel <#CTEAM|team>")
    rapport.command("value quiet 4 900k")
    rapport.command("add Steady Co every 1w")
    rapport.command("log steady co call from")
    rapport.command("add Risky Ltd")
    rapport.command("add Calm Co")
    rapport.command("referral calm co -> New Lead")
    rapport.command("promise calm co the deck by 2026-12-21")
    rapport.command("issue risky ltd the export times out")
    rapport.clock.now = MONDAY + 30 * DAY
    rapport.command("log calm co call from")
    rapport.command("log steady co call from")
    rapport.command("log risky ltd cancel 3d ago")
    rapport.command("log risky ltd complaint")
    rapport.command("checkin steady co done")
    run_sweep(rapport, MONDAY + 31 * DAY, daily_focus=2)
    rapport.clock.now = MONDAY + 31 * DAY + timedelta(hours=1)
    return _open_home(rapport)


@SQLITE
def test_app_home_says_what_today_holds_and_lists_each_client_once(rapport, blocks_snapshot, text_snapshot):
    view = _busy_home(rapport)
    assert view["blocks"] == blocks_snapshot
    assert reading("(App Home)", view["blocks"]) == text_snapshot
    text = _words(view)
    assert "Today: 2 of your 5 cards sent · 6 waiting their turn" in text
    needs = text[text.index("Needs attention (6)"):text.index("Promises and issues")]
    rest = text[text.index("Your other clients"):]
    listed = [line.split(" · ")[0] for line in rest.splitlines()[1:] if " · " in line and line[:1].isupper()
              and not line.startswith(("Last heard", "Not heard", "Page "))]
    assert listed and not any(name in needs for name in listed), "no client in both lists"
    assert len(view["blocks"]) <= 100


@SQLITE
def test_a_check_in_in_the_past_says_late(rapport):
    rapport.command("add Steady Co every 1w")
    rapport.command("log steady co call from")
    rapport.clock.now = MONDAY + 10 * DAY  # its check-in fell due three days ago; no sweep has carded it yet
    text = _words(_open_home(rapport))
    assert "Steady Co · Steady\nLast heard from them 16 Nov · check-in late since 23 Nov" in text


VERBS = {"Log", "Record", "Mark", "View", "Show", "Change", "Resume", "Forget", "Cancel", "Tick", "Share", "←"}
# What ends something for good, or can't be taken back, asks first. `forget`'s button is itself the answer to the
# command's question ("Forget Acme Corp? … It cannot be undone."): one confirmation, not two.
PERMANENT = {"nudge_not_relevant", "home_not_relevant", "review_share"}


def _buttons(node):
    if isinstance(node, dict):
        if node.get("type") == "button":
            yield node
        for value in node.values():
            yield from _buttons(value)
    elif isinstance(node, list):
        for value in node:
            yield from _buttons(value)


@SQLITE
def test_every_button_names_what_it_does_and_a_permanent_one_asks_first(rapport):
    """Cards, the digest, App Home and command replies alike (issue 34): a verb that says what the click does; a
    goal's 1–10 answer a question; what ends something for good has a Block Kit confirm."""
    view = _busy_home(rapport)
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    run_sweep(rapport, MONDAY + 35 * DAY, digest=(0, time(9)))
    run_sweep(rapport, MONDAY + 46 * DAY)  # Friday 1 January, the month's first workday: the owners' reviews message
    replies = [rapport.command(text).json() for text in (
        "referral steady co -> Gamma", "forget quiet 0", "closeout calm co", "contact calm co Sam Lee sponsor",
        "contact calm co Jane Doe primary", "log calm co meeting with Sam Lee")]
    posted = [m for history in rapport.fake.messages.values() for m in history]
    seen = list(_buttons([view, replies, posted]))
    assert {b["action_id"] for b in seen} >= {"nudge_not_relevant", "home_not_relevant", "forget_confirm",
                                              "home_pace", "referral_thanked", "closeout_tick", "nudge_open",
                                              "review_open", "review_share"}
    for button in seen:
        label = button["text"]["text"]
        assert label.isdigit() or label.split()[0] in VERBS, label
        assert ("confirm" in button) == (button["action_id"] in PERMANENT), button["action_id"]
