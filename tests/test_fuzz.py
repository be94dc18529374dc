"""Hostile and malformed input: generated command text and Slack payloads get a clear answer, never a 500,
and a refused command writes nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.commands import Caller, run_client_command
from bot.slack.people import Person
from storage.models import AuditEvent, Client, Contact, Interaction, Referral, Workspace
from tests.conftest import MONDAY, sign

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
SUBCOMMANDS = ["", "help", "add", "log", "referral", "refer", "thanked", "checkin", "status", "list", "snooze",
               "end", "optout", "reactivate", "owner", "channel", "rename", "forget", "timezone", "value", "link",
               "unlink", "goal", "nonsense"]
# Pieces people (and Slack's escaping) put in command text, to combine with arbitrary unicode.
PIECES = ["Acme Corp", "acme", "\"Quoted Name\"", "call", "email", "meeting", "from", "to", "yesterday",
          "3d ago", "2026-02-30", "every", "2w", "done", "off", ":", "<@U1|ana>", "<#C1|acme>", "<!channel>",
          "<!here>", "<https://x.example|link>", "*bold*", "`code`", "&lt;", "&gt;", "\u202e", "\x00", "\n",
          "\t", "😀", "Z\u0351\u0360", "x" * 3000, "-1", "9" * 40, "no-winback", "default", "none",
          "by", "odds", "90", "confidence", "11", "met", "missed", ";"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=20)), max_size=12).map(" ".join),
).flatmap(lambda rest: st.sampled_from(SUBCOMMANDS).map(lambda sub: f"{sub} {rest}".strip()))


def _rows(database) -> tuple[int, ...]:
    with database.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) or 0
                     for m in (Workspace, Client, Contact, Interaction, Referral, AuditEvent))


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(text=texts)
def test_any_command_text_gets_an_answer_and_a_refusal_writes_nothing(database, text):
    caller = Caller(team_id="T1", enterprise_id=None, user_id="UANA",
                    person=lambda: Person(ZoneInfo("Europe/London"), False))
    run_client_command(database.sessions, caller, "add Acme Corp", MONDAY)  # something to find (once)
    before = _rows(database)
    reply = run_client_command(database.sessions, caller, text, MONDAY)
    assert reply.text and reply.blocks is not None
    json.dumps(reply.as_message())  # always a message Slack can take
    if not reply.ok:
        assert _rows(database) == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
    | st.sampled_from(["", "x" * 5000, "<!channel>", "\x00\u202e"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ACTION_IDS = ["nudge_log", "nudge_done", "nudge_snooze", "nudge_open", "digest_open", "forget_confirm",
              "forget_cancel", "referral_thanked", "home_log", "home_open", "home_snooze", "home_page", "client"]


def _skeleton(kind: str, response_url: str) -> dict[str, Any]:
    # From a member who neither owns the client nor administers the workspace: nothing they send may
    # create or remove clients (forget_confirm from the owner would, rightly).
    base: dict[str, Any] = {"team": {"id": "T1"}, "user": {"id": "UBEN"}, "api_app_id": "A1", "type": kind,
                            "trigger_id": "t", "response_url": response_url}
    if kind == "block_actions":
        base["actions"] = [{"action_id": "nudge_done", "block_id": "b", "type": "button", "value": "1"}]
        base["container"] = {"type": "message", "channel_id": "C1", "message_ts": "1.0"}
    elif kind == "view_submission":
        base["view"] = {"id": "V1", "type": "modal", "callback_id": "log_touch", "private_metadata": "",
                        "state": {"values": {}}}
    elif kind == "block_suggestion":
        base.update(action_id="client", block_id="client", value="Ac", view={"id": "V1", "type": "modal"})
    return base


def _mangle(skeleton: dict[str, Any], changes: list[tuple[list[str], Any]]) -> dict[str, Any]:
    """Put generated values at (possibly nested) keys of a realistic payload, or take keys away."""
    payload = json.loads(json.dumps(skeleton))
    for path, value in changes:
        node = payload
        for key in path[:-1]:
            child = node.get(key) if isinstance(node, dict) else None
            if isinstance(child, list) and child:
                child = child[0]
            if not isinstance(child, dict):
                break
            node = child
        else:
            if value is ...:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
    return payload


KEYS = ["type", "team", "user", "actions", "view", "value", "action_id", "container", "trigger_id", "response_url",
        "id", "callback_id", "private_metadata", "state", "values", "selected_option", "selected_date", "channel"]
changes = st.lists(st.tuples(st.lists(st.sampled_from(KEYS + ACTION_IDS), min_size=1, max_size=3),
                             st.one_of(st.just(...), json_values)), max_size=4)


@pytest.mark.parametrize("kind", ["block_actions", "view_submission", "block_suggestion"])
def test_malformed_interactions_never_get_a_500(rapport, kind):
    @settings(max_examples=120, deadline=None, suppress_health_check=FIXTURES, database=None)
    @given(changes=changes, action=st.sampled_from(ACTION_IDS))
    def check(changes, action):
        payload = _skeleton(kind, f"{rapport.fake.url}/response/fuzz")
        if kind == "block_actions":
            payload["actions"][0]["action_id"] = action
        body = "payload=" + quote(json.dumps(_mangle(payload, changes)))
        reply = rapport.post(body, sign(body))
        assert reply.status < 500, (reply.status, reply.body)

    rapport.command("add Acme Corp")
    before = _rows(rapport.database)
    check()
    assert _rows(rapport.database)[1:4] == before[1:4]  # no client, contact or interaction came from garbage


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(payload=st.dictionaries(st.sampled_from(["team_id", "user_id", "text", "command", "response_url",
                                                "trigger_id", "enterprise_id", "channel_id"]),
                               st.text(max_size=200), max_size=8))
def test_malformed_slash_commands_never_get_a_500(rapport, payload):
    body = urlencode({"command": "/client", **payload})
    reply = rapport.post(body, sign(body))
    assert reply.status < 500, (reply.status, reply.body)


@pytest.mark.parametrize("payload", [
    {"type": "view_submission", "view": {"id": "V1", "callback_id": "log_touch"}},  # no view.type
    {"type": "block_actions", "channel": False, "actions": [{"action_id": "nudge_log"}]},
    {"type": "block_actions", "actions": ["nudge_done"]},
    {"type": "block_actions", "team": "T1", "actions": []},
    {"type": "block_actions", "actions": []},
    {"type": "block_actions", "actions": None},
    {"type": "interactive_message", "callback_id": "x", "actions": []},
    {"type": "view_submission", "view": {"type": "modal", "callback_id": 7}},
])
def test_payloads_slack_never_sends_are_refused_clearly(rapport, payload):
    body = "payload=" + quote(json.dumps({"user": {"id": "UBEN"}, "team": {"id": "T1"}, **payload}))
    reply = rapport.post(body, sign(body))
    assert reply.status < 500, reply.body
    if reply.status == 400:
        assert reply.json()["error"].startswith("malformed request: ")


EVENT_KEYS = ["type", "user", "tab", "tokens", "bot", "oauth", "enterprise_id", "view"]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(event_type=st.sampled_from(["app_home_opened", "app_uninstalled", "tokens_revoked", "grid_migration_started",
                                   "grid_migration_finished", "message", "x"]),
       inside=st.lists(st.tuples(st.lists(st.sampled_from(EVENT_KEYS), min_size=1, max_size=2),
                                 st.one_of(st.just(...), json_values)), max_size=3),
       changes=st.lists(st.tuples(st.lists(st.sampled_from(["event", "type", "team_id", "enterprise_id", *EVENT_KEYS]),
                                           min_size=1, max_size=3),
                                  st.one_of(st.just(...), json_values)), max_size=3))
def test_malformed_events_never_get_a_500(capturing, caplog, event_type, inside, changes):
    """Handled before Slack's request returns (the capturing app), so a listener that crashed would show: as a 500,
    or as the error handler's 'unhandled error' in the log. `inside` mangles the event itself (its enterprise_id, for
    the Enterprise Grid migration events), `changes` the envelope around it."""
    event = _mangle({"type": event_type, "user": "UBEN", "tab": "home", "enterprise_id": "E1",
                     "tokens": {"oauth": [], "bot": []}}, inside)
    body_dict = _mangle({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",
                         "event_time": 1, "event": event}, changes)
    body = json.dumps(body_dict)
    caplog.clear()
    reply = capturing.post(body, {**sign(body), "Content-Type": "application/json"})
    assert reply.status < 500, (reply.status, reply.body)
    assert not [r for r in caplog.records if "unhandled error" in r.getMessage()], body


MESSAGE_KEYS = ["event", "type", "subtype", "user", "user_team", "team", "ts", "thread_ts", "channel", "bot_id",
                "deleted_ts", "authorizations", "team_id", "is_ext_shared_channel", "message", "previous_message",
                "connected_team_id", "is_ext_shared"]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(event_type=st.sampled_from(["message", "channel_shared", "channel_unshared"]),
       subtype=st.sampled_from([None, "message_deleted", "message_changed", "bot_message", "thread_broadcast"]),
       changes=st.lists(st.tuples(st.lists(st.sampled_from(MESSAGE_KEYS), min_size=1, max_size=3),
                                  st.one_of(st.just(...), json_values)), max_size=5))
def test_mangled_message_events_in_a_linked_channel_never_fail(capturing, caplog, event_type, subtype, changes):
    """Handled before Slack's request returns (the capturing app), so a crash in capture would show: as a 500,
    or as the error handler's 'unhandled error' in the log."""
    capturing.fake.channels["CSHARED"] = {"is_member": True, "is_ext_shared": True}
    with capturing.database.sessions() as session:
        linked = session.scalar(select(func.count()).select_from(Client))
    if not linked:
        capturing.command("add Acme Corp")
        capturing.command("link acme corp <#CSHARED|shared>")
    event = {"type": event_type, "channel": "CSHARED", "user": "UJANE", "user_team": "TACME", "ts": "1763290800.000100",
             "text": "hello", **({"subtype": subtype} if subtype else {}),
             **({"deleted_ts": "1763290800.000100"} if subtype == "message_deleted" else {})}
    body_dict = _mangle({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",
                         "event_time": 1, "is_ext_shared_channel": True, "event": event,
                         "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}, changes)
    body = json.dumps(body_dict)
    caplog.clear()
    reply = capturing.post(body, {**sign(body), "Content-Type": "application/json"})
    assert reply.status < 500, (reply.status, reply.body)
    assert not [r for r in caplog.records if "unhandled error" in r.getMessage()
                or "could not be recorded" in r.getMessage()], body
