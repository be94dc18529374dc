"""Many workspaces from one deployment: OAuth install, isolation, uninstall and erasure, token rotation, Grid."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import func, select, text

from bot.nudges.sweep import slack_for, sweep
from bot.settings import Settings
from bot.slack.people import StaticDirectory
from bot.slack.tokens import TokenCipher
from handlers.payload import caller_from
from storage.models import AuditEvent, Client, Interaction, Nudge, Workspace
from tests.conftest import OAUTH_CLIENT_ID, SECRET_KEY, RapportServer, oauth_settings, sign
from tests.helpers import client_named

DAY = timedelta(days=1)
MONDAY = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def install(rapport: RapportServer, code: str, team: str | None, **grant: object) -> str:
    """The whole OAuth flow as a browser and Slack would drive it; returns the page the installer sees."""
    rapport.fake.grant(code, team, **grant)  # type: ignore[arg-type]
    with urllib.request.urlopen(rapport.base + "/slack/install", timeout=10) as page:
        html = page.read().decode()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    authorize = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', html)
    assert authorize, html
    assert f"client_id={OAUTH_CLIENT_ID}" in authorize.group(1) and "chat:write" in authorize.group(1)
    state = re.search(r"state=([^&\"]+)", authorize.group(1)).group(1)  # type: ignore[union-attr]
    back = urllib.request.Request(f"{rapport.base}/slack/oauth_redirect?code={code}&state={state}",
                                  headers={"Cookie": cookie})
    with urllib.request.urlopen(back, timeout=10) as done:
        assert done.status == 200
        return done.read().decode()


def uninstall_event(rapport: RapportServer, team: str, payload: dict[str, object]) -> None:
    """Send app_uninstalled or tokens_revoked and return once it has been handled. Bolt acknowledges events
    before running their listener, so this waits (bounded) for the tokens to be gone."""
    body = json.dumps({"type": "event_callback", "team_id": team, "api_app_id": "A1",
                       "event_id": f"Ev{uuid.uuid4().hex[:8]}", "event_time": 1, "event": payload})
    assert rapport.post(body, {**sign(body), "Content-Type": "application/json"}).status == 200
    deadline = time.monotonic() + 10
    while installed_rows(rapport, team) or not _uninstalled(rapport, team):
        assert time.monotonic() < deadline, f"{payload['type']} was not handled"
        threading.Event().wait(0.02)


def _uninstalled(rapport: RapportServer, team: str) -> bool:
    with rapport.database.sessions() as session:
        return session.scalar(select(Workspace.uninstalled_at).where(Workspace.team_id == team)) is not None


def run_sweep(rapport: RapportServer, at: datetime, **overrides: object):  # type: ignore[no-untyped-def]
    settings: Settings = oauth_settings("sqlite://", rapport.fake, digest=None, **overrides)
    return sweep(rapport.database, settings, slack_for(settings, rapport.database), at)


def posted_by_team(rapport: RapportServer) -> dict[str, list[str]]:
    """For each team, the text of every message posted with that team's token."""
    out: dict[str, list[str]] = {}
    for call in rapport.fake.called("chat.postMessage"):
        owner = rapport.fake.tokens[rapport.fake.token_of(call)]
        out.setdefault(owner["team_id"] or owner["enterprise_id"], []).append(json.dumps(call.params))
    return out


def installed_rows(rapport: RapportServer, team: str) -> int:
    with rapport.database.engine.connect() as conn:
        return sum(conn.execute(text(f"SELECT count(*) FROM {table} WHERE team_id = :t"), {"t": team}).scalar_one()
                   for table in ("slack_installations", "slack_bots"))


def test_two_workspaces_installed_by_oauth_never_see_each_other(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA")
    install(rapport, "code-b", "TB")
    assert installed_rows(rapport, "TA") == 2 and installed_rows(rapport, "TB") == 2
    assert rapport.command("add Acme Corp", team="TA").json()["text"] == "Added Acme Corp."
    assert rapport.command("log Acme Corp call : renewal is secret-A", team="TA").status == 200
    assert rapport.command("add Beta LLC", team="TB").json()["text"] == "Added Beta LLC."
    # names are unique per workspace, not across them
    assert rapport.command("add Acme Corp", team="TB").json()["text"] == "Added Acme Corp."

    status_b = rapport.command("status Acme Corp", team="TB").text
    assert "Acme Corp" in status_b and "secret-A" not in status_b
    assert "Beta LLC" not in rapport.command("list", team="TA").text
    assert "No client" in rapport.command("status Beta LLC", team="TA").text
    with rapport.database.sessions() as session:
        teams = {team: n for team, n in session.execute(
            select(Workspace.team_id, func.count(Client.id)).join(Client, Client.workspace_id == Workspace.id)
            .group_by(Workspace.team_id))}
    assert teams == {"TA": 1, "TB": 2}

    # Each workspace's nudges are posted with its own token.
    run_sweep(rapport, MONDAY + 31 * DAY)
    by_team = posted_by_team(rapport)
    assert set(by_team) == {"TA", "TB"}
    assert all("Beta LLC" not in m for m in by_team["TA"]) and any("Beta LLC" in m for m in by_team["TB"])


def test_ids_from_another_workspace_reach_nothing(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA")
    install(rapport, "code-b", "TB")
    rapport.command("add Zephyr Holdings", team="TA")
    run_sweep(rapport, MONDAY + 31 * DAY)
    acme = client_named(rapport.database, "Zephyr Holdings")
    with rapport.database.sessions() as session:
        nudge = session.scalars(select(Nudge).where(Nudge.client_id == acme.id)).one()
    # A click from TB carrying TA's real nudge id, with the snooze select and the Done button.
    for action in ({"type": "button", "action_id": "nudge_done", "value": str(nudge.id)},
                   {"type": "static_select", "action_id": "nudge_snooze",
                    "selected_option": {"value": f"{nudge.id}:2w", "text": {"type": "plain_text", "text": "2w"}}}):
        path = f"response/{uuid.uuid4().hex[:8]}"
        rapport.interact({"type": "block_actions", "team": {"id": "TB"}, "trigger_id": "t",
                          "response_url": f"{rapport.fake.url}/{path}",
                          "container": {"type": "message", "channel_id": nudge.channel_id, "message_ts": "1.0"},
                          "channel": {"id": nudge.channel_id},
                          "actions": [{**action, "block_id": "b", "action_ts": "1"}]})
        rapport.fake.wait_for(path)
    # App Home buttons from TB carrying TA's client id: open, log, snooze.
    for action_id, value in (("home_open", str(acme.id)), ("home_log", str(acme.id)),
                             ("home_snooze", f"{acme.id}:2w")):
        before = len(rapport.fake.called("views.open")) + len(rapport.fake.called("views.publish"))
        rapport.interact({"type": "block_actions", "team": {"id": "TB"}, "trigger_id": "t",
                          "container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", "type": "home"},
                          "actions": [{"type": "button", "action_id": action_id, "value": value, "block_id": "b",
                                       "action_ts": "1"}]})
        rapport.fake.wait_until(lambda n=before: len(rapport.fake.called("views.open"))
                                + len(rapport.fake.called("views.publish")) > n, 5)
    shown = json.dumps([c.params for c in rapport.fake.called("views.open") + rapport.fake.called("views.publish")])
    assert "Zephyr Holdings" not in shown
    # TB's own client logged from a form whose private metadata names TA's nudge: TA's nudge is untouched.
    rapport.command("add Beta LLC", team="TB")
    beta = client_named(rapport.database, "Beta LLC")
    reply = rapport.interact({"type": "view_submission", "team": {"id": "TB"}, "view": {
        "id": "V2", "type": "modal", "callback_id": "log_touch", "private_metadata": json.dumps({"nudge": nudge.id}),
        "state": {"values": {
            "client": {"client": {"type": "external_select", "selected_option": {"value": str(beta.id)}}},
            "kind": {"kind": {"type": "static_select", "selected_option": {"value": "call"}}},
            "direction": {"direction": {"type": "static_select", "selected_option": {"value": "both"}}},
            "date": {"date": {"type": "datepicker", "selected_date": "2026-11-16"}},
            "note": {"note": {"type": "plain_text_input", "value": "with Beta"}}}}}})
    assert reply.status == 200 and "errors" not in reply.body
    # A modal submitted from TB naming TA's client id.
    reply = rapport.interact({"type": "view_submission", "team": {"id": "TB"}, "view": {
        "id": "V1", "type": "modal", "callback_id": "log_touch", "private_metadata": "",
        "state": {"values": {
            "client": {"client": {"type": "external_select", "selected_option": {"value": str(acme.id)}}},
            "kind": {"kind": {"type": "static_select", "selected_option": {"value": "call"}}},
            "direction": {"direction": {"type": "static_select", "selected_option": {"value": "both"}}},
            "date": {"date": {"type": "datepicker", "selected_date": "2026-12-10"}},
            "note": {"note": {"type": "plain_text_input", "value": "from TB"}}}}}})
    assert reply.json()["response_action"] == "errors"
    # Typeahead from TB does not offer TA's clients.
    options = rapport.interact({"type": "block_suggestion", "team": {"id": "TB"}, "action_id": "client",
                                "block_id": "client", "value": "Ze", "view": {"id": "V1", "type": "modal"}})
    assert options.json()["options"] == []
    after = client_named(rapport.database, "Zephyr Holdings")
    assert after.snoozed_until is None and after.last_checkin_at is None
    with rapport.database.sessions() as session:
        logged = session.scalars(select(Interaction)).all()
        assert [i.client_id for i in logged] == [beta.id]  # only TB's own touch
        assert session.get(Nudge, nudge.id).handled_action is None


def test_uninstall_removes_tokens_stops_nudges_and_erases_after_the_grace_period(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA")
    install(rapport, "code-b", "TB")
    rapport.command("add Acme Corp", team="TA")
    rapport.command("add Beta LLC", team="TB")
    run_sweep(rapport, MONDAY + 31 * DAY - timedelta(hours=20))  # a Saturday: quiet nudges planned, not posted
    with rapport.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Nudge).where(Nudge.status == "pending")) == 2

    rapport.clock.now = MONDAY + 31 * DAY - timedelta(hours=19)
    uninstall_event(rapport, "TA", {"type": "app_uninstalled"})
    assert installed_rows(rapport, "TA") == 0 and installed_rows(rapport, "TB") == 2
    refused = rapport.command("add Gamma", team="TA")
    assert client_named(rapport.database, "Gamma") is None and "install" in refused.body.lower()

    run_sweep(rapport, MONDAY + 31 * DAY)  # Monday: TB's nudge is posted, TA's was dropped
    assert set(posted_by_team(rapport)) == {"TB"}
    with rapport.database.sessions() as session:
        dropped = session.scalars(select(Nudge).where(Nudge.status == "dropped")).one()
        assert dropped.last_error == "the app was uninstalled"

    run_sweep(rapport, MONDAY + 31 * DAY + 29 * DAY)  # inside the 30-day grace period: kept
    assert client_named(rapport.database, "Acme Corp") is not None
    report = run_sweep(rapport, MONDAY + 31 * DAY + 31 * DAY)
    assert report.erased == 1 and "erased 1 uninstalled workspace" in report.summary()
    assert client_named(rapport.database, "Acme Corp") is None
    assert client_named(rapport.database, "Beta LLC") is not None
    with rapport.database.sessions() as session:
        assert session.scalars(select(Workspace.team_id)).all() == ["TB"]


def test_reinstalling_within_the_grace_period_picks_up_where_it_left_off(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA")
    rapport.command("add Acme Corp", team="TA")
    uninstall_event(rapport, "TA", {"type": "app_uninstalled"})
    install(rapport, "code-a2", "TA")
    assert "Acme Corp" in rapport.command("status Acme Corp", team="TA").text
    run_sweep(rapport, MONDAY + 31 * DAY, uninstall_grace_days=0)
    assert client_named(rapport.database, "Acme Corp") is not None
    assert set(posted_by_team(rapport)) == {"TA"}


def test_a_revoked_bot_token_stops_that_workspace(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA")
    rapport.command("add Acme Corp", team="TA")
    uninstall_event(rapport, "TA", {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"], "bot": ["UBOT"]}})
    assert installed_rows(rapport, "TA") == 0
    run_sweep(rapport, MONDAY + 31 * DAY, uninstall_grace_days=60)
    assert rapport.fake.called("chat.postMessage") == []
    with rapport.database.sessions() as session:
        assert session.scalars(select(Workspace.uninstalled_at)).one() is not None


def test_expiring_tokens_are_rotated_for_requests_and_for_the_scheduler(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA", expires_in=600)  # inside Bolt's 2-hour rotation window at once
    first = next(t for t, owner in rapport.fake.tokens.items() if owner["team_id"] == "TA")
    assert rapport.command("add Acme Corp", team="TA").json()["text"] == "Added Acme Corp."
    refreshes = [c for c in rapport.fake.called("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert refreshes, "the request rotated the expiring token"
    run_sweep(rapport, MONDAY + 31 * DAY)
    [post] = rapport.fake.called("chat.postMessage")
    used = rapport.fake.token_of(post)
    assert used != first and rapport.fake.tokens[used]["team_id"] == "TA"
    with rapport.database.engine.connect() as conn:
        stored = conn.execute(text("SELECT bot_token FROM slack_installations ORDER BY id DESC")).scalars().first()
    assert stored.startswith("enc:v1:") and TokenCipher([SECRET_KEY]).open(stored) == used


def test_enterprise_grid_installs_per_team_and_org_wide(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-g", "TG", enterprise_id="E1")
    install(rapport, "code-org", None, enterprise_id="E2", org_wide=True)
    assert rapport.command("add Grid Client", team="TG", enterprise="E1").json()["text"] == "Added Grid Client."
    org = rapport.command("add Org Client", team="TX", enterprise="E2", org_wide=True)
    assert org.json()["text"] == "Added Org Client."
    with rapport.database.sessions() as session:
        rows = set(session.execute(select(Workspace.enterprise_id, Workspace.team_id)))
    assert rows == {("E1", "TG"), ("E2", "TX")}
    run_sweep(rapport, MONDAY + 31 * DAY)
    by_team = posted_by_team(rapport)
    assert any("Grid Client" in m for m in by_team["TG"]) and any("Org Client" in m for m in by_team["E2"])


def test_a_workspace_whose_token_cannot_be_refreshed_does_not_hold_up_the_others(oauth_rapport):
    rapport = oauth_rapport
    rapport.clock.now = MONDAY
    install(rapport, "code-a", "TA", expires_in=600)
    install(rapport, "code-b", "TB")
    rapport.command("add Acme Corp", team="TA")
    rapport.command("add Beta LLC", team="TB")
    rapport.fake.refresh_tokens.clear()  # Slack no longer accepts TA's refresh token
    report = run_sweep(rapport, MONDAY + 31 * DAY)
    assert set(posted_by_team(rapport)) == {"TB"}
    assert report.delivery.posted == 1 and report.delivery.retrying == 1
    with rapport.database.sessions() as session:
        waiting = session.scalars(select(Nudge).where(Nudge.status == "pending")).one()
        assert waiting.last_error == "no bot token for this workspace"


def test_an_uninstall_that_names_no_workspace_uninstalls_none(database):
    from bot.slack.installs import mark_uninstalled
    from storage.workspaces import get_or_create_workspace

    with database.sessions.begin() as session:
        for team in ("TA", "TB"):
            get_or_create_workspace(session, team, None, MONDAY)
    with database.sessions.begin() as session:
        assert mark_uninstalled(session, None, None, MONDAY) == 0
        assert mark_uninstalled(session, None, "TA", MONDAY) == 1
    with database.sessions() as session:
        assert dict(session.execute(select(Workspace.team_id, Workspace.uninstalled_at.is_not(None))).all()) == {
            "TA": True, "TB": False}


def test_each_workspace_is_nudged_in_its_own_business_hours_and_timezone(rapport):
    from tests.test_sweep import run_sweep as single_token_sweep

    rapport.command("timezone", team="T2")  # creates T2; shows the default
    assert "Only a workspace admin can change the workspace's timezone" in rapport.command(
        "timezone Asia/Tokyo", team="T2", user="UBEN").text
    assert "not a timezone I know" in rapport.command("timezone Mars/Olympus", team="T2", user="UADMIN").text
    assert rapport.command("timezone asia/tokyo", team="T2", user="UADMIN").json()["text"] == \
        "Timezone set to Asia/Tokyo."
    assert "Asia/Tokyo" in rapport.command("timezone", team="T2").text
    rapport.command("add London Ltd")  # T1 follows the deployment's timezone (UTC here)
    rapport.command("add Tokyo KK", team="T2")
    for team in ("T1", "T2"):
        rapport.command("channel default <#CTEAM|team>", team=team, user="UADMIN")

    # Monday 00:30 UTC is Monday 09:30 in Tokyo: only T2's week has begun for the digest.
    digests = single_token_sweep(rapport, datetime(2026, 12, 21, 0, 30, tzinfo=UTC), digest=(0, clock_time(9)))
    assert digests.planned.planned == {"digest": 1, "quiet": 2}
    # 01:00 UTC: 10:00 in Tokyo, inside its business hours; still night for T1.
    single_token_sweep(rapport, datetime(2026, 12, 21, 1, 0, tzinfo=UTC))
    posted = json.dumps([c.params for c in rapport.fake.called("chat.postMessage")])
    assert "Tokyo KK" in posted and "London Ltd" not in posted
    single_token_sweep(rapport, datetime(2026, 12, 21, 10, 0, tzinfo=UTC))
    posted = json.dumps([c.params for c in rapport.fake.called("chat.postMessage")])
    assert posted.count("Tokyo KK") >= 1 and "London Ltd" in posted
    with rapport.database.sessions() as session:
        audit_rows = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "timezone")).all()
    assert audit_rows == ["Asia/Tokyo"]


def test_a_click_that_names_its_grid_org_only_inside_team_belongs_to_that_org():
    # bolt-python's captured block_actions body (tests/scenario_tests/test_block_actions.py) names the org
    # only as team.enterprise_id; Bolt reads it there, and so must the workspace a click is answered for
    body = {"type": "block_actions", "user": {"id": "W111", "team_id": "T111"},
            "team": {"id": "T111", "domain": "workspace-domain", "enterprise_id": "E111",
                     "enterprise_name": "Sandbox Org"}}
    caller = caller_from(body, WebClient(), StaticDirectory(ZoneInfo("UTC")))
    assert (caller.enterprise_id, caller.team_id, caller.user_id) == ("E111", "T111", "W111")
