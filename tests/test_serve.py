"""`rapport serve` as a real process under gunicorn, answering signed requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from bot.server.serve import web_concurrency
from bot.settings import SettingsError
from storage.migrate import head_revision
from tests.cli import RAPPORT, clean_env, run
from tests.conftest import SECRET_KEY, SIGNING_SECRET, sign


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tmp_path, api_url: str, argv: tuple[str, ...] = (RAPPORT, "serve"),
                **env: str) -> tuple[subprocess.Popen, str, dict]:  # type: ignore[type-arg]
    """`rapport serve` (or `argv`) as a real process, once /healthz answers: (process, base URL, health)."""
    port = _free_port()
    environment = clean_env(tmp_path, **{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                         "SLACK_API_URL": api_url, "PORT": str(port), **env})
    process = subprocess.Popen(list(argv), cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # wait for readiness, bounded: gunicorn has to boot a worker first
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as reply:
                return process, base, json.loads(reply.read())
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("rapport serve did not come up:\n" + (process.stdout.read() if process.stdout else ""))
            time.sleep(0.2)


def stop_serve(process: subprocess.Popen) -> str:  # type: ignore[type-arg]
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert "xoxb-test" not in output and SIGNING_SECRET not in output, "secrets must never be logged"
    return output


@pytest.fixture
def served(tmp_path, fake_slack):
    process, base, health = start_serve(tmp_path, fake_slack.api_url, RAPPORT_SCHEDULER="off")
    yield base, health
    stop_serve(process)


def signed_command(base: str, text: str, response_url: str) -> int:
    body = urlencode({"team_id": "T1", "user_id": "UANA", "command": "/client", "text": text,
                      "response_url": response_url, "trigger_id": "t"})
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status


def test_serve_starts_and_acknowledges_while_slack_is_unreachable(tmp_path, fake_slack):
    process, base, health = start_serve(tmp_path, "http://127.0.0.1:9/api/", RAPPORT_SCHEDULER="off")
    try:
        assert health == {"ok": True, "database": "ok"}
        assert signed_command(base, "add Acme Corp", f"{fake_slack.url}/response/down") == 200
        [answer] = fake_slack.wait_for("response/down")  # response_url is not the Web API: the answer arrives
        assert answer.params["text"] == "Added Acme Corp."
        payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "UANA"}, "api_app_id": "A1",
                   "trigger_id": "t", "container": {"type": "view"}, "view": {"id": "V", "type": "home"},
                   "actions": [{"type": "button", "action_id": "home_page", "value": "2", "block_id": "b",
                                "action_ts": "1"}]}
        body = urlencode({"payload": json.dumps(payload)})
        request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", **sign(body)})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200  # acknowledged; publishing the Home tab waits for Slack to come back
    finally:
        output = stop_serve(process)
    assert "Worker failed to boot" not in output


def test_serve_answers_health_and_signed_commands(served, fake_slack):
    base, health = served
    assert health == {"ok": True, "database": "ok"}
    body = urlencode({"team_id": "T1", "user_id": "UANA", "command": "/client", "text": "add Acme Corp",
                      "response_url": f"{fake_slack.url}/response/served", "trigger_id": "t"})
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200 and reply.read() == b""  # acknowledged first; the answer follows
    [answer] = fake_slack.wait_for("response/served")
    assert answer.params["text"] == "Added Acme Corp."
    unsigned = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code == 401


def test_serve_in_oauth_mode_offers_the_install_page(tmp_path, fake_slack):
    port = _free_port()
    env = clean_env(tmp_path, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="oauth-secret",
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url, PORT=str(port),
                    RAPPORT_SCHEDULER="off", RAPPORT_SECRET_KEY=SECRET_KEY)
    process = subprocess.Popen([RAPPORT, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/slack/install", timeout=2) as page:
                    html = page.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("rapport serve (OAuth) did not come up")
                time.sleep(0.2)
        assert "https://slack.com/oauth/v2/authorize?state=" in html and "client_id=111.222" in html
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "oauth-secret" not in output and SIGNING_SECRET not in output and SECRET_KEY not in output, \
        "secrets must never be logged"


def test_serve_without_slack_settings_says_which_is_missing(tmp_path):
    result = run(["serve"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("rapport: SLACK_BOT_TOKEN is not set")


def test_migrate_brings_a_new_database_to_the_newest_schema(tmp_path):
    result = run(["migrate"], tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    assert result.returncode == 0 and f"schema version {head_revision()}" in result.stdout
    assert (tmp_path / "fresh.db").exists()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_run_the_scheduler(command, tmp_path, fake_slack):
    from bot.database import open_database
    from bot.settings import Settings
    from tests.test_concurrency import _seed

    url = f"sqlite:///{tmp_path / 'r.db'}"
    database = open_database(Settings(database_url=url))
    _seed(database, clients=1000, owners=20)
    database.engine.dispose()
    env = clean_env(tmp_path, DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=fake_slack.api_url, PORT=str(_free_port()),
                    RAPPORT_BUSINESS_HOURS="mon-sun 00:00-24:00", RAPPORT_DIGEST="off", RAPPORT_DAILY_FOCUS="50")
    process = subprocess.Popen([RAPPORT, command], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        # the first tick runs at start-up
        fake_slack.wait_until(lambda: len(fake_slack.posted_nudge_ids()) >= 1000, timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert len(fake_slack.posted_nudge_ids()) == 1000


def test_serve_answers_from_as_many_processes_as_the_machine_has_cores_unless_told():
    # PRODUCT.md §7: an answer's Python holds one interpreter, so one web process per core by default
    assert web_concurrency({}) == (os.cpu_count() or 1)
    assert web_concurrency({"WEB_CONCURRENCY": " 3 "}) == 3
    for bad in ("0", "two", "-1", "1000"):
        with pytest.raises(SettingsError, match="WEB_CONCURRENCY"):
            web_concurrency({"WEB_CONCURRENCY": bad})


def _children(pid: int) -> dict[int, str]:
    """The processes `pid` started, with their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    line = cmdline.read().replace(b"\0", b" ").decode()
            except (OSError, ValueError):
                continue  # gone meanwhile
            if parent == pid:
                found[int(entry)] = line
    return found


def test_serves_scheduler_gives_the_web_processes_the_cores_first(tmp_path, fake_slack):
    """PRODUCT.md §7: acknowledgements stay within budget while the scheduler plans a backlog, so it runs at a lower
    CPU priority than the processes that acknowledge."""
    process, _, _ = start_serve(tmp_path, fake_slack.api_url, WEB_CONCURRENCY="2")
    try:
        deadline = time.monotonic() + 30
        while True:
            children = _children(process.pid)
            schedulers = [pid for pid, line in children.items() if " worker --parent " in line]
            web = [pid for pid in children if pid not in schedulers]
            if (schedulers and len(web) == 2) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(schedulers) == 1 and len(web) == 2, children
        serving = os.getpriority(os.PRIO_PROCESS, process.pid)
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == serving for pid in web)
        assert os.getpriority(os.PRIO_PROCESS, schedulers[0]) == min(19, serving + 10)
    finally:
        stop_serve(process)
