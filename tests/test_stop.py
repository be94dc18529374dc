"""Deploying mid-delivery (PRODUCT.md §8): SIGTERM to `rapport serve` or `rapport worker` while it posts against a
Slack that allows one message a second per channel. Every process is gone within 10 seconds, nothing is left
claimed, and the next sweep posts the rest, each exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from storage.models import Client, Nudge, Workspace
from tests.cli import RAPPORT, clean_env
from tests.conftest import SIGNING_SECRET
from tests.test_serve import _free_port

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
