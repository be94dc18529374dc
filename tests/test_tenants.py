"""Trust under faults, tenants (PRODUCT.md §5 "Tenants", §4.9, §8): a Slack Connect channel linked by several
installed workspaces is recorded for each, everything captured stays in the workspace whose link it concerns, a
client on Enterprise Grid is captured, and the app's lifecycle events are answered in every mode."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.settings import Settings
from storage.models import Interaction, LinkedChannel, Nudge, Workspace
from tests import test_storage
from tests.conftest import SIGNING_SECRET, RapportServer, _served, oauth_settings, sign
from tests.helpers import client_named
from tests.test_metrics import _get, _value
from tests.test_sweep import posts, run_sweep
from tests.test_workspaces import install, posted_by_team
from tests.test_workspaces import run_sweep as oauth_sweep

SHARED = "CSHARED"  # one Slack Connect channel: the same id in every organisation
MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
METRICS = "metrics-token-for-tests"


def _ts(at: datetime) -> str:
    return f"{at.timestamp():.6f}"


def deliver(rapport: RapportServer, event: dict, *, to: list[dict], shared: bool | None = True,
            context: str | None = None, **envelope: object) -> None:
    """An Events API request as Slack sends it once per app: `to` is its `authorizations`."""
    body = {"token": "verification_token", "team_id": to[0].get("team_id"), "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": 1,
            "authorizations": to, **envelope}
    if shared is not None:
        body["is_ext_shared_channel"] = shared
    if context is not None:
        body["event_context"] = context
    raw = json.dumps(body)
    reply = rapport.post(raw, {**sign(raw), "Content-Type": "application/json"})
    assert reply.status == 200, reply.body


def ours(team: str, enterprise: str | None = None) -> dict:
    return {"enterprise_id": enterprise, "team_id": team, "user_id": "UBOT", "is_bot": True,
            "is_enterprise_install": False}


def said(user: str, team: str, at: datetime, channel: str = SHARED) -> dict:
    return {"type": "message", "channel": channel, "user": user, "text": "hello", "ts": _ts(at), "team": team,
            "user_team": team, "source_team": team, "channel_type": "channel"}


def touches(rapport: RapportServer) -> dict[str, list[tuple[str, str, str | None]]]:
    """Each workspace's captured touches: (client, direction, permalink)."""
    with rapport.database.sessions() as session:
        rows = session.execute(select(Workspace.team_id, Interaction).join(
            Workspace, Workspace.id == Interaction.workspace_id).where(Interaction.source == "slack")
            .order_by(Interaction.id)).all()
        out: dict[str, list[tuple[str, str, str | None]]] = {}
        for team, touch in rows:
            name = touch_client_name(session, touch.client_id)
            out.setdefault(team, []).append((name, touch.direction, touch.permalink))
        return out


def touch_client_name(session, client_id: int) -> str:  # type: ignore[no-untyped-def]
    from storage.models import Client

    return session.get(Client, client_id).name


def links(rapport: RapportServer, channel: str) -> dict[str, bool]:
    with rapport.database.sessions() as session:
        return dict(session.execute(select(Workspace.team_id, LinkedChannel.shared).join(
            Workspace, Workspace.id == LinkedChannel.workspace_id).where(LinkedChannel.channel_id == channel)).all())


def _serve_two(database, fake_slack, database_url, **overrides) -> Iterator[RapportServer]:  # type: ignore[no-untyped-def]
    """An agency (TA) and its client (TB) have both installed Rapport and share one Slack Connect channel, which
    each linked to the other: for TA it is Bravo Ltd's channel, for TB its vendor Alpha Agency's."""
    with _served(oauth_settings(database_url, fake_slack, **overrides), database, fake_slack,
                 process_before_response=True) as rapport:
        rapport.clock.now = MONDAY_9 + timedelta(hours=6)
        install(rapport, "code-a", "TA")
        install(rapport, "code-b", "TB")
        fake_slack.channels.update({SHARED: {"is_member": True, "is_ext_shared": True},
                                    "CLATER": {"is_member": True, "is_ext_shared": False}})
        fake_slack.users.update({"UANA": {"tz": "UTC", "team_id": "TA"}, "UBEA": {"tz": "UTC", "team_id": "TB"}})
        rapport.command("add Bravo Ltd", team="TA")
        rapport.command("add Alpha Agency", team="TB")
        for team, client in (("TA", "bravo ltd"), ("TB", "alpha agency")):
            assert "Linked" in rapport.command(f"link {client} <#{SHARED}|shared>", team=team).text
            rapport.command(f"link {client} <#CLATER|later>", team=team)
        yield rapport


@pytest.fixture
def two(database, fake_slack, database_url) -> Iterator[RapportServer]:  # type: ignore[no-untyped-def]
    yield from _serve_two(database, fake_slack, database_url)


@pytest.fixture
def two_with_app_token(database, fake_slack, database_url) -> Iterator[RapportServer]:  # type: ignore[no-untyped-def]
    yield from _serve_two(database, fake_slack, database_url, slack_authorizations_token="xapp-1-A1-authz")


def test_one_message_in_a_channel_both_workspaces_linked_is_a_touch_in_each_with_its_own_permalink(two):
    """Before: the second workspace's touch was dropped (one unique key per channel and message), and only the
    workspace Slack listed in `authorizations` was looked at."""
    rapport = two
    deliver(rapport, said("UBEA", "TB", MONDAY_9), to=[ours("TA")])  # Slack lists one installation
    deliver(rapport, said("UANA", "TA", MONDAY_9 + timedelta(minutes=30)), to=[ours("TB")])
    found = touches(rapport)
    ts_b, ts_a = _ts(MONDAY_9).replace(".", ""), _ts(MONDAY_9 + timedelta(minutes=30)).replace(".", "")
    assert found == {
        # for the agency, Bea of Bravo spoke first (in) and Ana answered (out) …
        "TA": [("Bravo Ltd", "in", f"https://ta.slack.com/archives/{SHARED}/p{ts_b}"),
               ("Bravo Ltd", "out", f"https://ta.slack.com/archives/{SHARED}/p{ts_a}")],
        # … and for Bravo, its own Bea spoke (out) and the agency's Ana answered (in): each with its own link
        "TB": [("Alpha Agency", "out", f"https://tb.slack.com/archives/{SHARED}/p{ts_b}"),
               ("Alpha Agency", "in", f"https://tb.slack.com/archives/{SHARED}/p{ts_a}")]}
    assert client_named(rapport.database, "Bravo Ltd").last_their_contact_at == MONDAY_9
    assert client_named(rapport.database, "Alpha Agency").last_their_contact_at == MONDAY_9 + timedelta(minutes=30)
    # a redelivery is still stored once, in each
    deliver(rapport, said("UBEA", "TB", MONDAY_9), to=[ours("TB")])
    assert [len(v) for v in touches(rapport).values()] == [2, 2]


def test_a_deletion_seen_by_one_workspace_takes_the_touch_of_each_and_refreshes_each_client(two):
    """Before: a deletion delivered for TB removed TA's touch but refreshed TB's client, so TA's client still said
    it had heard from them."""
    rapport = two
    deliver(rapport, said("UBEA", "TB", MONDAY_9), to=[ours("TA")])
    deliver(rapport, {"type": "message", "subtype": "message_deleted", "channel": SHARED, "hidden": True,
                      "deleted_ts": _ts(MONDAY_9), "ts": _ts(MONDAY_9 + timedelta(minutes=5)),
                      "previous_message": {"type": "message", "user": "UBEA", "ts": _ts(MONDAY_9)}},
            to=[ours("TB")])
    assert touches(rapport) == {}
    for name in ("Bravo Ltd", "Alpha Agency"):
        assert client_named(rapport.database, name).last_contact_at is None, name
    with rapport.database.sessions() as session:  # TA's question from Bea went with the message
        assert session.scalars(select(LinkedChannel.asked_ts).where(LinkedChannel.channel_id == SHARED)).all() == [
            None, None]


def test_sharing_flags_change_only_for_the_workspace_slack_told(two):
    """Before: one workspace's channel_unshared switched capture off for every workspace linking the channel."""
    rapport = two
    assert links(rapport, "CLATER") == {"TA": False, "TB": False}
    deliver(rapport, {"type": "channel_shared", "connected_team_id": "TC", "channel": "CLATER",
                      "event_ts": "1561064063.001100"}, to=[ours("TA")], shared=None)
    assert links(rapport, "CLATER") == {"TA": True, "TB": False}
    deliver(rapport, {"type": "channel_shared", "connected_team_id": "TC", "channel": "CLATER",
                      "event_ts": "1561064063.001200"}, to=[ours("TB")], shared=None)
    deliver(rapport, {"type": "channel_unshared", "previously_connected_team_id": "TC", "channel": "CLATER",
                      "is_ext_shared": False, "event_ts": "1561064064.001100"}, to=[ours("TB")], shared=None)
    assert links(rapport, "CLATER") == {"TA": True, "TB": False}
    # TA still captures there, TB no longer does (an envelope that does not say whether it is shared)
    deliver(rapport, said("UCARL", "TC", MONDAY_9, channel="CLATER"), to=[ours("TA")], shared=None)
    assert [t[:2] for t in touches(rapport)["TA"]] == [("Bravo Ltd", "in")]
    assert "TB" not in touches(rapport)


def test_with_an_app_token_slack_names_the_installations_an_event_concerns(two_with_app_token):
    rapport = two_with_app_token
    fake = rapport.fake
    # Slack says only TA can see this one: TB, which linked the same id, records nothing
    fake.event_authorizations["EC-only-a"] = [ours("TA")]
    deliver(rapport, said("UBEA", "TB", MONDAY_9), to=[ours("TA")], context="EC-only-a")
    assert set(touches(rapport)) == {"TA"}
    asked = fake.called("apps.event.authorizations.list")
    assert [c.params.get("event_context") for c in asked] == ["EC-only-a"]
    assert fake.token_of(asked[0]) == "xapp-1-A1-authz"
    # both can see this one: a sharing flag lands in each
    fake.event_authorizations["EC-both"] = [ours("TA"), ours("TB")]
    deliver(rapport, {"type": "channel_shared", "connected_team_id": "TC", "channel": "CLATER",
                      "event_ts": "1561064063.001100"}, to=[ours("TB")], shared=None, context="EC-both")
    assert links(rapport, "CLATER") == {"TA": True, "TB": True}
    # Slack cannot tell (an unknown context): a message falls back to every workspace that linked the channel
    deliver(rapport, said("UANA", "TA", MONDAY_9 + timedelta(hours=2)), to=[ours("TA")], context="EC-gone")
    assert [len(v) for v in touches(rapport).values()] == [2, 1]


def test_without_a_slack_connect_link_elsewhere_slack_is_never_asked(two_with_app_token):
    rapport = two_with_app_token
    rapport.command("add Solo Inc", team="TA")
    rapport.fake.channels["CSOLO"] = {"is_member": True, "is_ext_shared": True}
    rapport.command("link solo inc <#CSOLO|solo>", team="TA")
    deliver(rapport, said("UBEA", "TB", MONDAY_9, channel="CSOLO"), to=[ours("TA")], context="EC-solo")
    assert [t[:2] for t in touches(rapport)["TA"]] == [("Solo Inc", "in")]
    assert rapport.fake.called("apps.event.authorizations.list") == []


# --- Enterprise Grid ------------------------------------------------------------------------------------------

# From bolt-python, tests/scenario_tests_async/test_events_shared_channels.py (`app_mention_body`): a Slack Connect
# event from an organisation on Enterprise Grid, whose envelope carries the *source* org's enterprise_id while
# `authorizations[0]` is the installation it was delivered for. Adapted: ids only (T_INSTALLED -> T1, ours, not on
# Grid, so E_INSTALLED -> null; E_SOURCE -> ECLIENT; C111 -> CSHARED; W222 -> UJANE, whose "team" is her
# workspace TACME; W111 -> UBOT), and the event type app_mention -> message (the same message object, as
# message.channels delivers it).
GRID_CLIENT_MESSAGE = {
    "token": "verification_token",
    "team_id": "T1",
    "enterprise_id": "ECLIENT",
    "api_app_id": "A111",
    "event": {
        "client_msg_id": "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63",
        "type": "message",
        "text": "<@UBOT> Hi there!",
        "user": "UJANE",
        "ts": "1595926230.009600",
        "team": "TACME",
        "channel": "CSHARED",
        "event_ts": "1595926230.009600",
    },
    "type": "event_callback",
    "event_id": "Ev111",
    "event_time": 1595926230,
    "authorizations": [
        {
            "enterprise_id": None,
            "team_id": "T1",
            "user_id": "UBOT",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ],
}


def _link_in_single_workspace(rapport: RapportServer) -> None:
    rapport.fake.channels[SHARED] = {"is_member": True, "is_ext_shared": True}
    rapport.fake.users.update({"UJANE": {"tz": "UTC", "team_id": "TACME"}})
    rapport.command("add Acme Corp")
    assert "Linked" in rapport.command(f"link acme corp <#{SHARED}|acme-shared>").text


def test_a_message_from_a_client_on_enterprise_grid_is_captured(capturing):
    """Before: the envelope's enterprise_id (the author's org) was taken for ours, no workspace matched, and the
    message was dropped without a word."""
    rapport = capturing
    _link_in_single_workspace(rapport)
    raw = json.dumps(GRID_CLIENT_MESSAGE)
    assert rapport.post(raw, {**sign(raw), "Content-Type": "application/json"}).status == 200
    acme = client_named(rapport.database, "Acme Corp")
    assert acme.last_their_contact_at == datetime.fromtimestamp(1595926230.0096, UTC)
    with rapport.database.sessions() as session:
        [touch] = session.scalars(select(Interaction).where(Interaction.source == "slack")).all()
    assert (touch.direction, touch.logged_by, touch.channel_id) == ("in", "UJANE", SHARED)


def test_a_grid_clients_message_is_captured_in_oauth_mode_by_the_installation_it_was_delivered_for(two):
    """Ours (TA) is not on Grid; the client (TG in the ECLIENT org) is. The envelope names the client's team and
    org, as Slack does for a Slack Connect message; only `authorizations` says it is ours."""
    rapport = two
    deliver(rapport, said("UGRID", "TG", MONDAY_9), to=[ours("TA")], team_id="TG", enterprise_id="ECLIENT",
            context_team_id="TG", context_enterprise_id="ECLIENT", context="EC-grid")
    found = touches(rapport)
    assert [t[:2] for t in found["TA"]] == [("Bravo Ltd", "in")]
    assert [t[:2] for t in found["TB"]] == [("Alpha Agency", "in")]  # TB linked it too; no app token: the links


# --- The app's lifecycle in single-workspace mode ---------------------------------------------------------------

@pytest.fixture
def watched(database, fake_slack, database_url) -> Iterator[RapportServer]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, metrics_token=METRICS)
    with _served(settings, database, fake_slack, process_before_response=True) as server:
        yield server


# Slack's documentation, https://api.slack.com/events/app_uninstalled and /events/tokens_revoked, verbatim but
# for the ids (TXXXXXXXX -> T1, UXXXXXXXX -> UBOT).
APP_UNINSTALLED = {
    "token": "XXYYZZ",
    "team_id": "T1",
    "api_app_id": "AXXXXXXXXX",
    "event": {
        "type": "app_uninstalled"
    },
    "type": "event_callback",
    "event_id": "EvXXXXXXXX",
    "event_time": 1234567890
}
TOKENS_REVOKED = {
    "token": "XXYYZZ",
    "team_id": "T1",
    "api_app_id": "AXXXXXXXXX",
    "event": {
        "type": "tokens_revoked",
        "tokens": {
            "oauth": [
                "UBOT"
            ],
            "bot": [
                "UBOT"
            ]
        }
    },
    "type": "event_callback",
    "event_id": "EvXXXXXXXX",
    "event_time": 1234567890
}


# Slack's documentation, https://api.slack.com/events/grid_migration_started and /events/grid_migration_finished
# (the same at docs.slack.dev/reference/events/grid_migration_started and …_finished), verbatim but for the ids
# (TXXXXXXXX -> T1, EXXXXXXXX -> E1). The envelope's team_id is the workspace being moved; the event names the org.
GRID_MIGRATION_STARTED = {
    "token": "XXYYZZ",
    "team_id": "T1",
    "api_app_id": "AXXXXXXXXX",
    "event": {
        "type": "grid_migration_started",
        "enterprise_id": "E1"
    },
    "type": "event_callback",
    "event_id": "EvXXXXXXXX",
    "event_time": 1234567890
}
GRID_MIGRATION_FINISHED = {
    "token": "XXYYZZ",
    "team_id": "T1",
    "api_app_id": "AXXXXXXXXX",
    "event": {
        "type": "grid_migration_finished",
        "enterprise_id": "E1"
    },
    "type": "event_callback",
    "event_id": "EvXXXXXXXX",
    "event_time": 1234567890
}


@pytest.mark.parametrize("payload", [APP_UNINSTALLED, TOKENS_REVOKED], ids=["app_uninstalled", "tokens_revoked"])
def test_single_workspace_mode_answers_an_uninstall_stops_delivery_and_says_so(watched, payload, caplog):
    """Before: 404 (the listeners existed only in OAuth mode), so Slack retried, and nudges kept being tried."""
    rapport = watched
    rapport.command("add Acme Corp")
    saturday = datetime(2026, 12, 19, 10, tzinfo=UTC)  # quiet nudges planned, not posted at the weekend
    run_sweep(rapport, saturday)
    with rapport.database.sessions() as session:
        assert session.scalars(select(Nudge.status)).all() == ["pending"]

    raw = json.dumps(payload)
    with caplog.at_level(logging.WARNING):
        reply = rapport.post(raw, {**sign(raw), "Content-Type": "application/json"})
    assert reply.status == 200, "Slack retries anything but a 2xx"
    [line] = [r for r in caplog.records if r.name == "handlers.lifecycle"]
    assert line.levelno == logging.ERROR and "posts nothing there" in line.getMessage() and "T1" in line.getMessage()
    assert _value(_get(rapport)[1], "rapport_uninstalled_workspaces") == 1
    with rapport.database.sessions() as session:
        assert session.scalars(select(Nudge.status)).all() == ["dropped"]

    run_sweep(rapport, saturday + timedelta(days=2))  # Monday, business hours: nothing is planned or posted
    run_sweep(rapport, saturday + timedelta(days=60))  # long after the grace period: the data is kept
    assert posts(rapport) == []
    assert client_named(rapport.database, "Acme Corp") is not None

    # installed again: Slack delivers a command only to an installed app, so nudges resume
    assert "Acme Corp" in rapport.command("status Acme Corp").text
    assert _value(_get(rapport)[1], "rapport_uninstalled_workspaces") == 0
    run_sweep(rapport, saturday + timedelta(days=65))
    assert posts(rapport) != []


# --- A workspace moved into Enterprise Grid (PRODUCT.md §8) -------------------------------------------------------


def _event(rapport: RapportServer, payload: dict, team: str = "T1") -> None:
    raw = json.dumps({**payload, "team_id": team})
    reply = rapport.post(raw, {**sign(raw), "Content-Type": "application/json"})
    assert reply.status == 200, reply.body


def _workspaces(rapport: RapportServer) -> list[tuple[str, str, bool]]:
    with rapport.database.sessions() as session:
        return [(w.enterprise_id, w.team_id, w.grid_migration_at is not None)
                for w in session.scalars(select(Workspace).order_by(Workspace.id))]


def test_a_workspace_moved_into_enterprise_grid_keeps_its_clients_and_posts_nothing_while_it_moves(watched, caplog):
    """Before: the migration events went unanswered, nudges were posted into a workspace being moved, and the first
    command carrying the org's id landed in a new, empty workspace ("No client matches Acme Corp")."""
    rapport = watched
    rapport.command("add Acme Corp channel <#CACME|acme>")
    with caplog.at_level(logging.WARNING):
        _event(rapport, GRID_MIGRATION_STARTED)
    assert _workspaces(rapport) == [("", "T1", True)]
    assert any("posts nothing there" in r.getMessage() for r in caplog.records if r.name == "handlers.lifecycle")
    monday = datetime(2026, 12, 21, 10, tzinfo=UTC)  # Acme Corp gone quiet, in business hours
    run_sweep(rapport, monday)
    assert posts(rapport) == []  # paused: planned, waiting
    with rapport.database.sessions() as session:
        assert session.scalars(select(Nudge.status)).all() == ["pending"]

    _event(rapport, GRID_MIGRATION_FINISHED)
    assert _workspaces(rapport) == [("E1", "T1", False)]
    card = rapport.command("status Acme Corp", enterprise="E1").text  # requests now carry the org's id
    assert "Acme Corp" in card and "No client" not in card
    rapport.command("log acme corp call from", enterprise="E1")
    assert _workspaces(rapport) == [("E1", "T1", False)]  # the same workspace, not a second one
    run_sweep(rapport, monday + timedelta(hours=1))
    assert len(posts(rapport, "CACME")) == 1  # what waited is posted now, once


def test_requests_with_the_orgs_id_find_the_workspace_even_when_the_events_were_missed(watched):
    rapport = watched
    rapport.command("add Acme Corp")
    _event(rapport, GRID_MIGRATION_STARTED)
    assert "Acme Corp" in rapport.command("list", enterprise="E1").text
    assert "Added Globex" in rapport.command("add Globex", enterprise="E1").text
    # the first request made in the org says the move is over: the workspace takes the org's id and posting resumes
    assert _workspaces(rapport) == [("E1", "T1", False)]
    assert "Acme Corp" in rapport.command("status acme corp").text  # a request that names no org still finds it


@pytest.fixture
def oauth_watched(database, fake_slack, database_url) -> Iterator[RapportServer]:  # type: ignore[no-untyped-def]
    with _served(oauth_settings(database_url, fake_slack), database, fake_slack,
                 process_before_response=True) as server:
        yield server


def test_a_workspace_level_install_is_found_by_its_team_once_it_is_in_an_org(oauth_watched):
    """OAuth mode: the install was stored with no org; Bolt and the scheduler look it up with the org's id once the
    team is in one. Before: "install the app first" to every command, and no token to post with."""
    rapport = oauth_watched
    rapport.clock.now = MONDAY_9
    install(rapport, "code-a", "TA")
    install(rapport, "code-org", None, enterprise_id="E2", org_wide=True)  # an org-wide install keeps working
    rapport.command("add Acme Corp channel <#CACME|acme>", team="TA")
    rapport.command("add Org Client channel <#CORG|org>", team="TX", enterprise="E2", org_wide=True)
    _event(rapport, {**GRID_MIGRATION_STARTED, "event": {**GRID_MIGRATION_STARTED["event"], "enterprise_id": "E9"}},
           team="TA")
    _event(rapport, {**GRID_MIGRATION_FINISHED, "event": {**GRID_MIGRATION_FINISHED["event"], "enterprise_id": "E9"}},
           team="TA")
    assert _workspaces(rapport) == [("E9", "TA", False), ("E2", "TX", False)]
    assert "Acme Corp" in rapport.command("status acme corp", team="TA", enterprise="E9").text
    assert "Org Client" in rapport.command("status org client", team="TX", enterprise="E2", org_wide=True).text
    oauth_sweep(rapport, MONDAY_9 + timedelta(days=35))
    by_team = posted_by_team(rapport)
    assert any("Acme Corp" in m for m in by_team["TA"]) and any("Org Client" in m for m in by_team["E2"])


# --- Migration 0012 ---------------------------------------------------------------------------------------------

unmigrated_url = test_storage.empty_database_url  # an empty database, SQLite and PostgreSQL


def test_migration_0012_keeps_every_touch_and_then_lets_two_workspaces_keep_one_message(unmigrated_url):
    from sqlalchemy import text

    from storage.db import make_engine
    from storage.migrate import upgrade

    upgrade(unmigrated_url, "0011")
    engine = make_engine(unmigrated_url)
    try:
        with engine.begin() as conn:
            for team in ("TA", "TB"):
                conn.execute(text("INSERT INTO workspaces (enterprise_id, team_id, created_at) "
                                  "VALUES ('', :t, CURRENT_TIMESTAMP)"), {"t": team})
            conn.execute(text("INSERT INTO clients (workspace_id, name, name_key, owner_id, created_at, created_by) "
                              "VALUES (1, 'Bravo Ltd', 'bravo ltd', 'U1', CURRENT_TIMESTAMP, 'U1'), "
                              "(2, 'Alpha Agency', 'alpha agency', 'U2', CURRENT_TIMESTAMP, 'U2')"))
            touch = ("INSERT INTO interactions (workspace_id, client_id, kind, direction, occurred_at, logged_by, "
                     "created_at, source, channel_id, message_ts) VALUES (:w, :w, 'message', 'in', "
                     "CURRENT_TIMESTAMP, 'U', CURRENT_TIMESTAMP, 'slack', 'CSHARED', :ts)")
            conn.execute(text(touch), {"w": 1, "ts": "1.000001"})
            conn.execute(text(touch), {"w": 1, "ts": "1.000002"})
        upgrade(unmigrated_url)
        with engine.begin() as conn:
            conn.execute(text(touch), {"w": 2, "ts": "1.000001"})  # before 0012: a unique violation
            rows = conn.execute(text("SELECT workspace_id, message_ts FROM interactions ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "1.000001"), (1, "1.000002"), (2, "1.000001")]
        with pytest.raises(IntegrityError), engine.begin() as conn:  # still once per workspace
            conn.execute(text(touch), {"w": 2, "ts": "1.000001"})
    finally:
        engine.dispose()


def test_the_authorizations_token_is_an_app_level_token_and_works_beside_oauth():
    from bot.settings import SettingsError, load_settings

    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x",
             "RAPPORT_SECRET_KEY": "V2pIMf18xoqYvqy4C0C60KDVLQwYElQdDqng1H8PvRM="}
    settings = load_settings({**oauth, "SLACK_AUTHORIZATIONS_TOKEN": "xapp-1-A1-x"})
    settings.require_slack()  # unlike SLACK_APP_TOKEN, it does not mean Socket Mode
    assert settings.slack_authorizations_token == "xapp-1-A1-x" and not settings.socket_mode
    with pytest.raises(SettingsError, match="SLACK_AUTHORIZATIONS_TOKEN must start with 'xapp-'"):
        load_settings({**oauth, "SLACK_AUTHORIZATIONS_TOKEN": "xoxb-1"})
