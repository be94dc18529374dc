"""Deploying mid-delivery (PRODUCT.md §8): SIGTERM to `rapport serve` or `rapport worker` while it posts against a
Slack that allows one message a second per channel. Every process is gone within 10 seconds, nothing is left
claimed, and the next sweep posts the rest, each exactly once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from storage.models import Client, Interaction, Nudge, Workspace
from tests.cli import RAPPORT, clean_env
from tests.conftest import SIGNING_SECRET, sign
from tests.gated_serve import GATE
from tests.test_serve import _free_port, signed_command, start_serve

ROOT = Path(__file__).resolve().parents[1]

CLIENTS, CHANNELS, OWNERS = 100, 2, 4


def seed_due_now(database, clients: int = CLIENTS, channels: int = CHANNELS, owners: int = OWNERS) -> None:
    """A workspace whose clients have all just gone quiet, spread over channels and owners."""
    now = datetime.now(UTC)
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=now - timedelta(days=90))
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:03d}", "name_key": f"client {i:03d}",
             "owner_id": f"U{i % owners}", "channel_id": f"C{i % channels}", "status": "active",
             "created_at": now - timedelta(days=60), "created_by": "UANA", "next_quiet_at": now - timedelta(days=1)}
            for i in range(clients)])


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_sigterm_mid_delivery_stops_within_ten_seconds_and_nothing_is_lost_or_doubled(
        command, database, database_url, fake_slack, tmp_path):
    seed_due_now(database)
    fake_slack.per_channel_interval = 1.0
    env = clean_env(tmp_path, DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-test",
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url, PORT=str(_free_port()),
                    RAPPORT_BUSINESS_HOURS="mon-sun 00:00-24:00", RAPPORT_DIGEST="off", RAPPORT_DAILY_FOCUS="50")
    process = subprocess.Popen([RAPPORT, command], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert fake_slack.wait_until(lambda: sum(map(len, fake_slack.messages.values())) >= 3, timeout=60), \
            "delivery never started"
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        process.wait(timeout=10)
        while not _group_gone(process.pid):
            assert time.monotonic() - stopped_at < 10, "a process of the group outlived the deadline"
            time.sleep(0.05)
        assert time.monotonic() - stopped_at < 10
    finally:
        if process.poll() is None or not _group_gone(process.pid):
            os.killpg(process.pid, signal.SIGKILL)

    with database.sessions() as session:
        statuses = dict(session.execute(select(Nudge.status, func.count()).group_by(Nudge.status)).all())
        held = session.scalar(select(func.count()).where(Nudge.claimed_by.is_not(None), Nudge.status == "sending"))
    posted_before = len(fake_slack.posted_nudge_ids())
    assert held == 0, "nothing is left claimed"
    assert 0 < posted_before < CLIENTS and statuses.get("sent", 0) == posted_before, statuses

    for _ in range(10):  # the restart: sweeps as the scheduler would run them, until everything is out
        done = subprocess.run([RAPPORT, "sweep"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        with database.sessions() as session:
            if session.scalar(select(func.count()).where(Nudge.status != "sent")) == 0:
                break
    with database.sessions() as session:
        ids = sorted(session.scalars(select(Nudge.id)))
    assert len(ids) == CLIENTS
    assert sorted(fake_slack.posted_nudge_ids()) == ids, "every nudge posted exactly once"


class _Output:
    """A process's output, read as it comes, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()  # the end of the output

    def wait_for(self, marker: str, timeout: float) -> bool:
        """Whether a line says `marker` within `timeout` seconds, or by the end of the output if that is sooner."""
        with self._changed:
            return self._changed.wait_for(lambda: any(marker in line for line in self.lines) or
                                          not self._reader.is_alive(), timeout) and \
                any(marker in line for line in self.lines)

    def text(self) -> str:
        self._reader.join(timeout=10)
        return "".join(self.lines)


def _message_event(base: str, channel: str, user: str, team: str, ts: str) -> int:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvDEPLOY1",
                       "event_time": 1, "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
                       "event": {"type": "message", "channel": channel, "user": user, "ts": ts, "text": "hello",
                                 "team": team, "user_team": team}})
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", **sign(body)})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status


@contextlib.contextmanager
def _listener_held(database_url: str, fake_slack, tmp_path, **env: str) -> Iterator[tuple[subprocess.Popen, _Output,
                                                                                         threading.Event, datetime]]:
    """`rapport serve` with a linked Slack Connect channel, a client's message in it acknowledged, and its listener
    held (tests/gated_serve.py) until the test sets the event yielded: (process, output, release, when spoken).
    `env`: more of the server's environment (by default it runs no scheduler)."""
    fake_slack.channels["CSHARED"] = {"is_member": True, "is_ext_shared": True}
    fake_slack.users["UJANE"] = {"tz": "UTC", "team_id": "TACME"}
    held, release = threading.Event(), threading.Event()

    def gate(method: str, _params: dict) -> None:
        if method == GATE:
            held.set()
            release.wait(30)

    fake_slack.on_call = gate
    process, base, _ = start_serve(tmp_path, fake_slack.api_url, (sys.executable, "-m", "tests.gated_serve", "serve"),
                                   **{"DATABASE_URL": database_url, "RAPPORT_SCHEDULER": "off",
                                      "WEB_CONCURRENCY": "1", "PYTHONPATH": str(ROOT), **env})
    output = _Output(process)
    try:
        for text in ("add Acme Corp", "link acme corp <#CSHARED|acme-shared>"):
            path = f"response/{len(fake_slack.calls)}"
            assert signed_command(base, text, f"{fake_slack.url}/{path}") == 200
            assert fake_slack.wait_for(path), f"/client {text} was never answered"
        spoken = datetime.now(UTC)
        assert _message_event(base, "CSHARED", "UJANE", "TACME", f"{spoken.timestamp():.6f}") == 200
        assert held.wait(10), "the listener never ran"  # acknowledged; its work not yet handed on
        yield process, output, release, spoken
    finally:
        release.set()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_sigterm_between_an_events_acknowledgement_and_its_listener_finishes_the_listener_first(
        database, database_url, fake_slack, tmp_path):
    """Issue 35: Bolt answers a message event 200 and runs its listener after; Slack never retries a 200. A deploy's
    SIGTERM landing in between used to end the web process first, and the captured touch was lost. Here the
    listener goes on only once the server has been told to stop and its web process has stopped taking requests;
    the touch is recorded, and the server exits cleanly within the 10 seconds."""
    with _listener_held(database_url, fake_slack, tmp_path) as (process, output, release, spoken):
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        # once the web process says it is finishing what it acknowledged (or has exited without doing so: the
        # touch is then lost, as it was)
        waited = output.wait_for("acknowledged task", timeout=9)
        release.set()
        assert process.wait(timeout=max(0.1, 10 - (time.monotonic() - stopped_at))) == 0
        assert time.monotonic() - stopped_at < 10
    log = output.text()
    with database.sessions() as session:
        touches = list(session.scalars(select(Interaction).where(Interaction.source == "slack")))
    assert [(t.direction, abs((t.occurred_at - spoken).total_seconds()) < 1) for t in touches] == [("in", True)], \
        "the acknowledged message was lost:\n" + log
    assert waited and "unhandled error" not in log and "Traceback" not in log and "not finished" not in log, log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the bound is the server's, whatever the database
def test_acknowledged_work_that_never_finishes_does_not_hold_up_a_deploy(database, database_url, fake_slack, tmp_path):
    """The wait for acknowledged work is bounded: a deploy still ends within 10 seconds, and says what it left."""
    with _listener_held(database_url, fake_slack, tmp_path) as (process, output, _release, _spoken):
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert process.wait(timeout=10) == 0
        while not _group_gone(process.pid):
            assert time.monotonic() - stopped_at < 10, "a process of the group outlived the deadline"
            time.sleep(0.05)
        assert time.monotonic() - stopped_at < 10
    assert "stopping: 1 acknowledged task not finished in time, lost" in output.text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the bound is the server's, whatever the database
def test_a_scheduler_that_will_not_stop_and_held_work_still_end_within_ten_seconds_of_the_sigterm(
        database, database_url, fake_slack, tmp_path):
    """Second reading of issue 35: the server's wait for its scheduler ran from when its web processes had stopped
    (up to 8 seconds after the SIGTERM), not from the SIGTERM, so a scheduler that would not stop beside a web
    process finishing acknowledged work kept the deploy going for up to 17 seconds. Every wait now runs from the
    SIGTERM: the scheduler is killed at the bound, and everything is gone within 10 seconds."""
    with _listener_held(database_url, fake_slack, tmp_path, RAPPORT_SCHEDULER="on",
                        GATED_SCHEDULER="stubborn") as (process, output, _release, _spoken):
        assert output.wait_for("one that will not stop", timeout=5)
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        process.wait(timeout=20)
        gone_after = time.monotonic() - stopped_at
        while not _group_gone(process.pid):
            assert time.monotonic() - stopped_at < 10, "a process of the group outlived the deadline"
            time.sleep(0.05)
    log = output.text()
    assert gone_after < 10, f"exited {gone_after:.1f} s after the SIGTERM:\n{log}"
    assert "stopping: 1 acknowledged task not finished in time, lost" in log
    assert "the scheduler did not stop in time; killing it" in log, log
