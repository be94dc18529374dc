"""Acting where people read: buttons on posted nudges, the Log a touch modal and its typeahead."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Client, Interaction, Nudge, Referral
from tests.conftest import _words
from tests.helpers import client_named, counts, interactions_of
from tests.test_sweep import MONDAY, run_sweep

DAY = timedelta(days=1)


def _posted_nudge(rapport, setup: str, at: datetime):
    for line in setup.splitlines():
        rapport.command(line.strip())
    run_sweep(rapport, at)
    rapport.clock.now = at + timedelta(minutes=5)
    [call] = rapport.fake.called("chat.postMessage")[-1:]
    return call.params


def _press(rapport, message, action_id, *, value=None, user=None, team=None):
    """Press a control in a posted message; returns what went back to response_url (if anything)."""
    actions = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    # "nudge_done" finds the card's button that does what its reason asks (nudge_done_checkin, _thank, …)
    element = next(e for e in actions if e["action_id"] == action_id or
                   (action_id == "nudge_done" and e["action_id"].startswith("nudge_done_")))
    action = {"type": element["type"], "action_id": element["action_id"], "block_id": "b", "action_ts": "1"}
    if element["type"] == "static_select":
        action["selected_option"] = next(o for o in element["options"] if o["value"].endswith(value or "1w"))
    else:
        action["value"] = element["value"]
    response_path = f"response/{uuid.uuid4().hex[:8]}"
    payload = {"type": "block_actions", "trigger_id": "trig.1", "response_url": f"{rapport.fake.url}/{response_path}",
               "container": {"type": "message", "channel_id": message["channel"], "message_ts": "1.000100"},
               "channel": {"id": message["channel"]}, "actions": [action]}
    if user:
        payload["user"] = {"id": user}
    if team:
        payload["team"] = {"id": team}
    rapport.interact(payload)
    return response_path


def _latest_update(rapport, count=1):
    updates = rapport.fake.wait_for("chat.update", count=count)
    assert len(updates) >= count, "the message was not updated"
    return updates[count - 1].params


def test_done_on_a_check_in_logs_it_and_updates_the_message(rapport):
    message = _posted_nudge(rapport, "add Acme Corp every 1w channel <#CACME|acme>", MONDAY + 7 * DAY)
    assert [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "nudge_log", "nudge_done_checkin", "nudge_open", "nudge_snooze", "nudge_not_relevant"]
    assert [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "button"] == ["Log a touch", "Record check-in", "View client", "Mark not relevant"]
    _press(rapport, message, "nudge_done")
    update = _latest_update(rapport)
    assert update["channel"] == "CACME" and update["ts"] == "1.000100"
    assert not any(b["type"] == "actions" for b in update["blocks"])
    assert "<@UANA> checked in" in json.dumps(update["blocks"])
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction) == ("checkin", "both")

    again = _press(rapport, message, "nudge_done", user="UBEN")  # a second click from a stale copy
    [reply] = rapport.fake.wait_for(again)
    assert "Already handled" in _words(reply.params)
    assert len(interactions_of(rapport.database, "Acme Corp")) == 1


def test_snooze_from_the_message(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>", MONDAY + 31 * DAY)
    _press(rapport, message, "nudge_snooze", value="2w")
    update = _latest_update(rapport)
    assert "snoozed Acme Corp for 2 weeks" in json.dumps(update["blocks"])
    assert client_named(rapport.database, "Acme Corp").snoozed_until == MONDAY + 31 * DAY + timedelta(minutes=5) \
        + 14 * DAY


def test_mark_thanked_from_a_referrer_nudge(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>\nreferral acme corp -> Beta Ltd",
                            MONDAY + 2 * DAY)
    assert any(e.get("text", {}).get("text") == "Mark thanked" for b in message["blocks"]
               if b["type"] == "actions" for e in b["elements"])
    _press(rapport, message, "nudge_done")
    assert "thanked them" in json.dumps(_latest_update(rapport)["blocks"])
    with rapport.database.sessions() as session:
        assert session.scalars(select(Referral)).one().thanked_by == "UANA"


def test_open_shows_the_client_card_to_the_clicker_only(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>", MONDAY + 31 * DAY)
    path = _press(rapport, message, "nudge_open")
    [reply] = rapport.fake.wait_for(path)
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    assert "Acme Corp" in _words(reply.params) and "Open nudge: gone quiet" in _words(reply.params)
    assert _words(reply.params).startswith("Why it matters: Clients rarely say they are unhappy; they go quiet first.")
    assert rapport.fake.called("chat.update") == []


def test_log_a_touch_opens_the_form_and_its_submission_handles_the_nudge(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>", MONDAY + 31 * DAY)
    _press(rapport, message, "nudge_log")
    [opened] = rapport.fake.wait_for("views.open")
    view = json.loads(opened.params["view"]) if isinstance(opened.params["view"], str) else opened.params["view"]
    assert opened.params["trigger_id"] == "trig.1"
    client_block = next(b for b in view["blocks"] if b["block_id"] == "client")
    assert client_block["element"]["initial_option"]["text"]["text"] == "Acme Corp"
    date_block = next(b for b in view["blocks"] if b["block_id"] == "date")
    assert date_block["element"]["initial_date"] == "2026-12-17"

    reply = _submit(rapport, view, kind="call", direction="from", day="2026-12-17", note="caught up on renewals")
    assert reply.body == ""
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction, entry.note) == ("call", "in", "caught up on renewals")
    assert "logged a call" in json.dumps(_latest_update(rapport)["blocks"])


def _submit(rapport, view, *, client_id=None, kind="call", direction="both", day="2026-11-16", note=None):
    client = next(b for b in view["blocks"] if b["block_id"] == "client")["element"].get("initial_option")
    values = {
        "client": {"client": {"type": "external_select", "selected_option":
                              {"value": str(client_id) if client_id is not None else client["value"]}}},
        "kind": {"kind": {"type": "static_select", "selected_option": {"value": kind}}},
        "direction": {"direction": {"type": "static_select", "selected_option": {"value": direction}}},
        "date": {"date": {"type": "datepicker", "selected_date": day}},
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
    return rapport.interact({"type": "view_submission", "trigger_id": "t", "view": {
        "id": "V1", "type": "modal", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
        "state": {"values": values}}})


def test_slash_client_alone_opens_the_form_with_today_in_the_users_timezone(rapport):
    rapport.clock.now = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)  # already Tuesday in Tokyo, Monday in London
    rapport.fake.users["UTOKYO"] = {"tz": "Asia/Tokyo"}
    reply = rapport.command("", user="UTOKYO", answered=False)
    assert reply.body == ""
    [opened] = rapport.fake.wait_for("views.open")
    view = opened.params["view"] if isinstance(opened.params["view"], dict) else json.loads(opened.params["view"])
    assert next(b for b in view["blocks"] if b["block_id"] == "date")["element"]["initial_date"] == "2026-11-17"
    assert "initial_option" not in next(b for b in view["blocks"] if b["block_id"] == "client")["element"]
    rapport.command("log", answered=False)
    assert len(rapport.fake.wait_for("views.open", count=2)) == 2


def test_invalid_submissions_show_errors_on_the_fields_and_write_nothing(rapport):
    rapport.command("add Acme Corp")
    client_id = client_named(rapport.database, "Acme Corp").id
    view = {"callback_id": "log_touch", "private_metadata": "{}", "blocks": [
        {"block_id": "client", "element": {"initial_option": {"value": str(client_id)}}}]}
    future = _submit(rapport, view, day="2026-11-20").json()
    assert future["response_action"] == "errors" and "in the future" in future["errors"]["date"]
    fixed = _submit(rapport, view, kind="praise", direction="to").json()
    assert "'praise' is always from them; leave this as two-way" in fixed["errors"]["direction"]
    unknown = _submit(rapport, view, client_id=999999).json()
    assert "Pick a client" in unknown["errors"]["client"]
    empty_note = _submit(rapport, view, kind="note").json()
    assert "needs words" in empty_note["errors"]["note"]
    assert counts(rapport.database) == (1, 0, 0)
    assert _submit(rapport, view, kind="praise").body == ""
    assert counts(rapport.database) == (1, 1, 0)


def test_the_typeahead_offers_this_workspaces_clients(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Acme Labs")
    rapport.command("add Beta Ltd")
    rapport.command("add Acme Secret", team="T2")
    reply = rapport.interact({"type": "block_suggestion", "action_id": "client", "block_id": "client",
                              "value": "acme", "view": {"id": "V1", "callback_id": "log_touch"}})
    assert [o["text"]["text"] for o in reply.json()["options"]] == ["Acme Corp", "Acme Labs"]


def test_stale_clicks_get_a_friendly_explanation(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>", MONDAY + 31 * DAY)
    rapport.command("rename acme corp to Acme Group")
    _press(rapport, message, "nudge_snooze", value="1w")
    assert "Acme Group" in json.dumps(_latest_update(rapport)["blocks"])  # the update shows the new name
    rapport.command("forget acme group")
    with rapport.database.sessions.begin() as session:
        from storage.erasure import delete_client
        delete_client(session, session.scalars(select(Client)).one())
    path = _press(rapport, message, "nudge_not_relevant")
    [reply] = rapport.fake.wait_for(path)
    assert "its client was forgotten" in _words(reply.params)


def test_a_click_from_another_workspace_cannot_act(rapport):
    message = _posted_nudge(rapport, "add Acme Corp channel <#CACME|acme>", MONDAY + 31 * DAY)
    path = _press(rapport, message, "nudge_not_relevant", team="T2")
    [reply] = rapport.fake.wait_for(path)
    assert "no longer exists" in _words(reply.params)
    with rapport.database.sessions() as session:
        assert session.scalars(select(Nudge)).one().handled_at is None
        assert session.scalars(select(Interaction)).all() == []


def test_each_button_on_a_merged_card_does_only_what_it_says(rapport):
    """A check-in due and a referrer to thank on one card: *Mark thanked* thanks (and logs no check-in), the card
    stays open for *Record check-in*, which records it; before, one *Done* did both without saying so."""
    message = _posted_nudge(rapport, "add Acme Corp every 1w channel <#CACME|acme>\nreferral acme corp -> Beta Ltd",
                            MONDAY + 8 * DAY)
    labels = [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e["type"] == "button"]
    assert labels == ["Log a touch", "Record check-in", "Mark thanked", "View client", "Mark not relevant"]
    _press(rapport, message, "nudge_done_thank")
    update = _latest_update(rapport)
    with rapport.database.sessions() as session:
        assert session.scalars(select(Referral)).one().thanked_by == "UANA"
    assert interactions_of(rapport.database, "Acme Corp") == [], "no check-in was logged by thanking"
    still = [e["text"]["text"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]
             if e["type"] == "button"]
    assert still == ["Log a touch", "Record check-in", "View client", "Mark not relevant"]
    assert "@UANA thanked them on 24 Nov." in _words({"blocks": update["blocks"]})
    _press(rapport, message, "nudge_done_checkin")
    closed = _latest_update(rapport, count=2)
    assert not any(b["type"] == "actions" for b in closed["blocks"])
    assert "<@UANA> checked in on 24 Nov." in json.dumps(closed["blocks"])
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction) == ("checkin", "both")
    again = _press(rapport, message, "nudge_done_thank", user="UBEN")  # a stale copy
    assert "Already handled by" in _words(rapport.fake.wait_for(again)[0].params)
