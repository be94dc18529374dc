"""What reaches /slack/events: only requests signed by Slack, recently; a malformed payload changes nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from tests.conftest import sign
from tests.helpers import counts


def _command_body(text: str, **overrides: str) -> str:
    fields = {"team_id": "T1", "user_id": "UANA", "command": "/client", "text": text,
              "response_url": "http://127.0.0.1:9/response", "trigger_id": "t"}
    fields.update(overrides)
    return urlencode({k: v for k, v in fields.items() if v != "-"})


def test_bad_signature_is_refused_and_nothing_is_written(rapport):
    body = _command_body("add Acme Corp")
    reply = rapport.post(body, sign(body, secret="not-the-secret"))
    assert reply.status == 401
    assert counts(rapport.database) == (0, 0, 0)


def test_stale_timestamp_is_refused(rapport):
    body = _command_body("add Acme Corp")
    reply = rapport.post(body, sign(body, timestamp=int(time.time()) - 10 * 60))
    assert reply.status == 401
    assert counts(rapport.database) == (0, 0, 0)


def test_body_changed_after_signing_is_refused(rapport):
    body = _command_body("add Acme Corp")
    reply = rapport.post(_command_body("add Evil Corp"), sign(body))
    assert reply.status == 401
    assert counts(rapport.database) == (0, 0, 0)


def test_payload_without_a_user_gets_a_clear_message(rapport):
    body = _command_body("add Acme Corp", user_id="-")
    reply = rapport.post(body, sign(body))
    assert reply.status == 200 and "incomplete" in reply.text
    assert counts(rapport.database) == (0, 0, 0)


def test_button_with_a_forged_value_is_harmless(rapport):
    rapport.command("add Acme Corp")
    posted = rapport.click({"action_id": "forget_confirm", "value": "../../1; DROP TABLE clients"})
    assert "out of date" in posted.text
    assert counts(rapport.database) == (1, 0, 0)


def test_a_click_from_another_workspace_cannot_touch_this_one(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Beta Ltd")
    [_, mark] = [None, *[b for b in _buttons(rapport.command("referral acme corp -> beta ltd"))]]
    posted = rapport.click(mark, team="T2")
    assert "no longer exists" in posted.text
    assert "Thank them" in rapport.command("status acme corp").text


def test_workspaces_do_not_see_each_other(rapport):
    rapport.command("add Acme Corp", team="T1")
    assert "No client matches" in rapport.command("status acme corp", team="T2").text
    assert "Added Acme Corp" in rapport.command("add Acme Corp", team="T2").text
    assert counts(rapport.database)[0] == 2


def test_health_check(rapport):
    reply = rapport.get("/healthz")
    assert reply.status == 200 and json.loads(reply.body)["database"] == "ok"
    assert rapport.get("/nowhere").status == 404


def _buttons(reply):
    return [e for b in reply.json()["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_opening_app_home_publishes_the_users_clients(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Beta Ltd", user="UBEN")
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",
                       "event_time": 1, "event": {"type": "app_home_opened", "user": "UANA", "tab": "home",
                                                  "channel": "D1", "event_ts": "1.0"}})
    reply = rapport.post(body, {**sign(body), "Content-Type": "application/json"})
    assert reply.status == 200
    [published] = rapport.fake.wait_for("views.publish")
    view = json.loads(published.params["view"]) if isinstance(published.params["view"], str) \
        else published.params["view"]
    shown = json.dumps(view)
    assert published.params["user_id"] == "UANA" and "Acme Corp" in shown and "Beta Ltd" not in shown
