"""App Home for a user with none, a few and hundreds of clients, and what its buttons do."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.helpers import client_named
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
    assert "Gone quiet 0 · Unanswered 0 · Check-ins due this week 0 · Referrers to thank 0 · At risk 0" in text
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
    names = [b["elements"][0]["elements"][0]["text"] for b in view["blocks"] if b["type"] == "rich_text"]
    assert names[:2] == ["Calm Co", "Risky Ltd"] or names[:2] == ["Risky Ltd", "Calm Co"]
    assert "Someone Else's" not in names and "New Lead" in names
    text = json.dumps(view, ensure_ascii=False)
    assert "Referrers to thank 1 · At risk 1" in text and "Check-ins due this week 1" in text


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
    assert "Acme Corp" in home and "Last heard from them" in home and "Not heard from yet" not in home
