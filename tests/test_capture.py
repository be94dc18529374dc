"""Capture from Slack (PRODUCT.md §4.9), through signed Events API requests and interaction payloads: a linked
Slack Connect channel's messages as touches, questions waiting for an answer, and Log to Rapport."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.capture.events import SlackMessage
from bot.capture.tenants import Tenant
from bot.capture.touches import capture
from storage.models import Interaction, LinkedChannel, Nudge
from tests.conftest import Response, sign
from tests.helpers import client_named, interactions_of
from tests.test_sweep import posts, run_sweep, words

SHARED, INTERNAL, OTHER = "CSHARED", "CINTERNAL", "COTHER"
THEIRS, OURS = "TACME", "T1"  # the client's workspace, and ours
FRIDAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _setup(rapport) -> None:
    rapport.fake.channels.update({SHARED: {"is_member": True, "is_ext_shared": True},
                                  INTERNAL: {"is_member": True, "is_ext_shared": False},
                                  OTHER: {"is_member": False, "is_ext_shared": True}})
    rapport.fake.users.update({"UJANE": {"tz": "UTC", "team_id": THEIRS}, "UANA": {"tz": "Europe/London",
                                                                                     "team_id": OURS}})
    rapport.command("add Acme Corp")
    assert "Linked" in rapport.command(f"link acme corp <#{SHARED}|acme-shared>").text
    assert "talk about Acme Corp, not with them" in rapport.command(f"link acme corp <#{INTERNAL}|acme-team>").text


def _ts(at: datetime) -> str:
    return f"{at.timestamp():.6f}"


def event(rapport, payload: dict, *, event_id: str | None = None, retry: int | None = None,
          shared: bool | None = None) -> Response:
    body = {"type": "event_callback", "team_id": OURS, "api_app_id": "A1", "event_id": event_id or
            f"Ev{uuid.uuid4().hex[:10]}", "event_time": 1, "event": payload,
            "authorizations": [{"team_id": OURS, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}]}
    if shared is not None:
        body["is_ext_shared_channel"] = shared
    raw = json.dumps(body)
    headers = {**sign(raw), "Content-Type": "application/json"}
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    reply = rapport.post(raw, headers)
    assert reply.status == 200, reply.body
    return reply


def message(rapport, user: str, at: datetime, channel: str = SHARED, **extra) -> str:
    ts = extra.pop("ts", _ts(at))
    team = extra.pop("user_team", THEIRS if user == "UJANE" else OURS)
    payload = {"type": "message", "channel": channel, "user": user, "ts": ts, "text": extra.pop("text", "hello"),
               "team": team, **({"user_team": team} if team else {}), **extra}
    event(rapport, payload)
    return ts


def captured(rapport) -> list[Interaction]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Interaction).where(Interaction.source == "slack")
                                    .order_by(Interaction.occurred_at)))


def test_link_needs_the_bot_in_the_channel_and_says_whether_it_is_shared(capturing):
    rapport = capturing
    _setup(rapport)
    refused = rapport.command(f"link acme corp <#{OTHER}|elsewhere>").text
    assert "I'm not in that channel" in refused and "/invite @Rapport" in refused
    assert "already linked to Acme Corp" in rapport.command(f"link acme corp <#{SHARED}|acme-shared>").text
    rapport.command("add Globex")
    assert "already linked to Acme Corp; unlink it there first" in rapport.command(
        f"link globex <#{SHARED}|acme-shared>").text
    status = rapport.command("status acme corp").text
    assert f"Conversation channels: #{SHARED} (shared with them), #{INTERNAL} (not shared with them yet" in status
    assert "Unlinked" in rapport.command(f"unlink acme corp <#{INTERNAL}|acme-team>").text
    with rapport.database.sessions() as session:
        assert [link.channel_id for link in session.scalars(select(LinkedChannel))] == [SHARED]


def test_their_messages_and_ours_are_touches_at_most_one_a_side_an_hour(capturing):
    rapport = capturing
    _setup(rapport)
    morning = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message(rapport, "UJANE", morning)
    message(rapport, "UJANE", morning + timedelta(minutes=20))  # the same hour: still one touch from them
    message(rapport, "UANA", morning + timedelta(minutes=30))
    message(rapport, "UJANE", morning + timedelta(minutes=90), thread_ts=_ts(morning))  # a thread reply counts
    touches = [(t.direction, t.occurred_at, t.logged_by) for t in captured(rapport)]
    assert touches == [("in", morning, "UJANE"), ("out", morning + timedelta(minutes=30), "UANA"),
                       ("in", morning + timedelta(minutes=90), "UJANE")]
    acme = client_named(rapport.database, "Acme Corp")
    assert acme.last_their_contact_at == morning + timedelta(minutes=90)
    first = captured(rapport)[0]
    assert first.note is None
    assert first.permalink == f"https://test.slack.com/archives/{SHARED}/p" + first.message_ts.replace(".", "")
    rapport.clock.now = morning + timedelta(hours=2)
    assert f"Slack, #{SHARED}" in rapport.command("status acme corp").text


def test_bots_joins_edits_other_channels_and_internal_ones_are_not_touches(capturing):
    rapport = capturing
    _setup(rapport)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message(rapport, "UJANE", at, bot_id="B1", subtype="bot_message")
    message(rapport, "UJANE", at, subtype="channel_join")
    message(rapport, "UJANE", at, subtype="channel_topic")
    event(rapport, {"type": "message", "subtype": "message_changed", "channel": SHARED, "ts": _ts(at),
                    "message": {"user": "UJANE", "text": "edited", "ts": _ts(at)}})
    message(rapport, "UJANE", at, channel="CUNLINKED")
    message(rapport, "UJANE", at, channel=INTERNAL)
    assert captured(rapport) == [] and interactions_of(rapport.database, "Acme Corp") == []
    # shared with the client since: from now on it counts
    event(rapport, {"type": "channel_shared", "channel": INTERNAL, "connected_team_id": THEIRS, "event_ts": "1"})
    message(rapport, "UJANE", at + timedelta(hours=2), channel=INTERNAL)
    assert [t.channel_id for t in captured(rapport)] == [INTERNAL]
    event(rapport, {"type": "channel_unshared", "channel": INTERNAL, "previously_connected_team_id": THEIRS,
                    "is_ext_shared": False, "event_ts": "2"})
    message(rapport, "UJANE", at + timedelta(hours=4), channel=INTERNAL)
    assert len(captured(rapport)) == 1


def test_a_deleted_message_takes_its_touch_and_a_redelivery_is_stored_once(capturing):
    rapport = capturing
    _setup(rapport)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    payload = {"type": "message", "channel": SHARED, "user": "UJANE", "user_team": THEIRS, "ts": _ts(at),
               "text": "hi"}
    event(rapport, payload, event_id="EvSAME")
    event(rapport, payload, event_id="EvSAME", retry=1)
    event(rapport, payload, event_id="EvSAME", retry=2)
    assert len(captured(rapport)) == 1
    assert client_named(rapport.database, "Acme Corp").last_their_contact_at == at
    event(rapport, {"type": "message", "subtype": "message_deleted", "channel": SHARED, "deleted_ts": _ts(at),
                    "ts": _ts(at + timedelta(minutes=1)), "previous_message": {"user": "UJANE", "ts": _ts(at)}})
    assert captured(rapport) == []
    assert client_named(rapport.database, "Acme Corp").last_their_contact_at is None


def test_chat_that_changes_nothing_never_waits_for_a_sweeps_write_lock(capturing, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL writers of other rows never wait")
    rapport = capturing
    _setup(rapport)
    morning = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message(rapport, "UJANE", morning)  # a touch, and their question now waits
    tenant = Tenant(workspace_id=client_named(rapport.database, "Acme Corp").workspace_id, enterprise_id="",
                    team_id=OURS, delivered=True)
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # a sweep's batch, writing
    try:
        later = morning + timedelta(minutes=20)  # the same hour, the same side, a question already waiting
        chat = SlackMessage(team_id=OURS, enterprise_id=None, channel=SHARED, user="UJANE", user_team=THEIRS,
                            ts=_ts(later), subtype=None, from_bot=False, deleted_ts=None, shared=True)
        result = capture(rapport.database.sessions, tenant, chat, THEIRS, later)  # before: "database is locked"
        assert not result.touched and not result.link_needed
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert [t.occurred_at for t in captured(rapport)] == [morning]


def test_the_authors_workspace_comes_from_users_info_when_the_event_does_not_say(capturing):
    rapport = capturing
    _setup(rapport)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message(rapport, "UJANE", at, user_team=None)
    message(rapport, "UANA", at + timedelta(minutes=5), user_team=None)
    assert [t.direction for t in captured(rapport)] == ["in", "out"]
    message(rapport, "UNOBODY", at + timedelta(hours=3), user_team=None)  # users.info cannot place them: no guess
    assert len(captured(rapport)) == 2


def test_the_database_never_holds_a_messages_text(capturing, database_url):
    rapport = capturing
    _setup(rapport)
    at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    message(rapport, "UJANE", at, text="zanzibar-quokka-42 is the codeword")
    message(rapport, "UANA", at + timedelta(minutes=3), text="reply about zanzibar-quokka-42")
    assert len(captured(rapport)) == 2
    with rapport.database.engine.connect() as conn:
        tables = [t for t in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if database_url.startswith("sqlite") else
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()]
        dump = " ".join(str(row) for table in tables for row in conn.execute(text(f'SELECT * FROM "{table}"')))
    assert "zanzibar" not in dump
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert b"zanzibar" not in raw


def test_a_question_unanswered_for_four_business_hours_is_a_nudge_across_a_weekend(capturing):
    rapport = capturing
    _setup(rapport)
    rapport.command("add Globex")
    rapport.fake.channels["CGLOBEX"] = {"is_member": True, "is_ext_shared": True}
    rapport.command("link globex <#CGLOBEX|globex-shared>")
    asked = message(rapport, "UJANE", FRIDAY)  # 16:00 on Friday: one business hour left that day
    message(rapport, "UJANE", FRIDAY + timedelta(minutes=10), channel="CGLOBEX")
    message(rapport, "UANA", FRIDAY + timedelta(minutes=40), channel="CGLOBEX", thread_ts=_ts(FRIDAY))  # answered
    monday = FRIDAY + timedelta(days=3)
    assert run_sweep(rapport, monday.replace(hour=11, minute=59)).planned.planned == {}
    report = run_sweep(rapport, monday.replace(hour=12))  # 1 business hour on Friday, 3 on Monday
    assert report.planned.planned == {"reply": 1}
    [posted] = posts(rapport)
    said = words(posted)
    assert "@UJANE at Acme Corp asked in #CSHARED 4 business hours ago; nobody from your side has answered" in said
    assert f"https://test.slack.com/archives/{SHARED}/p{asked.replace('.', '')}" in json.dumps(posted["blocks"])
    assert posted["text"] == ("Acme Corp: a question of theirs has waited 4 business hours for an answer. Answer it, "
                              "even briefly.")
    assert run_sweep(rapport, monday.replace(hour=15)).planned.planned == {}  # once per question


def test_an_answer_before_the_nudge_is_posted_drops_it(capturing):
    rapport = capturing
    _setup(rapport)
    saturday = FRIDAY + timedelta(days=1)
    message(rapport, "UJANE", FRIDAY - timedelta(hours=6))  # Friday 10:00
    run_sweep(rapport, saturday)  # planned while no one reads Slack
    with rapport.database.sessions() as session:
        assert [n.kind for n in session.scalars(select(Nudge))] == ["reply"]
    message(rapport, "UANA", saturday + timedelta(hours=1))  # answered on Saturday
    report = run_sweep(rapport, FRIDAY + timedelta(days=3, hours=-6))  # Monday 10:00
    assert report.focus.dropped == 1 and posts(rapport) == []


def _shortcut(rapport, channel: str, author: str, author_team: str) -> dict:
    at = datetime(2026, 11, 15, 11, 30, tzinfo=UTC)
    rapport.interact({"type": "message_action", "callback_id": "log_message", "trigger_id": "trig.sc",
                      "response_url": f"{rapport.fake.url}/response/sc", "channel": {"id": channel, "name": "x"},
                      "message": {"type": "message", "user": author, "team": author_team, "ts": _ts(at),
                                  "text": "Can you send the <https://example.com|revised plan> by Friday?"}})
    view = rapport.fake.wait_for("views.open")[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_log_to_rapport_prefills_the_form_and_logs_only_what_is_submitted(capturing):
    rapport = capturing
    _setup(rapport)
    view = _shortcut(rapport, SHARED, "UJANE", THEIRS)
    blocks = {b["block_id"]: b["element"] for b in view["blocks"]}
    acme = client_named(rapport.database, "Acme Corp")
    assert blocks["client"]["initial_option"]["value"] == str(acme.id)
    assert blocks["kind"]["initial_option"]["value"] == "message"
    assert blocks["direction"]["initial_option"]["value"] == "from"
    assert blocks["date"]["initial_date"] == "2026-11-15"
    assert blocks["note"]["initial_value"] == "Can you send the revised plan (https://example.com) by Friday?"
    unlinked = {b["block_id"]: b["element"] for b in _shortcut(rapport, "CUNLINKED", "UANA", OURS)["blocks"]}
    assert "initial_option" not in unlinked["client"] and unlinked["direction"]["initial_option"]["value"] == "to"
    assert interactions_of(rapport.database, "Acme Corp") == [], "nothing is kept until the form is submitted"
    values = {"client": {"client": {"selected_option": {"value": str(acme.id)}}},
              "kind": {"kind": {"selected_option": {"value": "message"}}},
              "direction": {"direction": {"selected_option": {"value": "from"}}},
              "date": {"date": {"selected_date": "2026-11-15"}},
              "note": {"note": {"value": "They want the revised plan by Friday"}}}
    rapport.interact({"type": "view_submission", "trigger_id": "t", "view": {
        "id": "V1", "type": "modal", "callback_id": "log_touch", "private_metadata": view["private_metadata"],
        "state": {"values": values}}})
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction, entry.note, entry.source, entry.channel_id) == (
        "message", "in", "They want the revised plan by Friday", "shortcut", SHARED)
    assert entry.occurred_at == datetime(2026, 11, 15, 11, 30, tzinfo=UTC)  # when it was written
