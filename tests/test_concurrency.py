"""Several sweep processes at once over one database: every nudge posted exactly once, even when Slack
answers 429s, 5xx and a timeout after recording the post."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from storage.models import Client, Nudge, Workspace
from tests.cli import RAPPORT, clean_env

CLIENTS = 1000
CHANNELS = 20
CREATED = datetime(2026, 10, 1, 12, tzinfo=UTC)
AT = "2026-11-16T10:00:00Z"  # a Monday morning: inside business hours
LATER = "2026-11-16T12:00:00Z"


def _seed(database) -> None:
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=CREATED)
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:04d}", "name_key": f"client {i:04d}",
             "owner_id": "UANA", "channel_id": f"C{i % CHANNELS:03d}", "status": "active", "created_at": CREATED,
             "created_by": "UANA", "next_quiet_at": CREATED.replace(day=31)}
            for i in range(CLIENTS)
        ])


def test_three_sweepers_post_every_nudge_exactly_once(database, database_url, fake_slack, tmp_path):
    _seed(database)
    fake_slack.hang_seconds = 12  # longer than the sweepers' 10-second timeout: an unknown outcome
    fake_slack.fail_next("chat.postMessage", "429", times=3, retry_after=1)
    fake_slack.fail_next("chat.postMessage", "5xx", times=3)
    fake_slack.fail_next("chat.postMessage", "timeout", times=1)
    env = clean_env(tmp_path, DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-test",
                    SLACK_API_URL=fake_slack.api_url)
    sweepers = [subprocess.Popen([RAPPORT, "sweep", "--at", AT], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in sweepers]
    assert [p.returncode for p in sweepers] == [0, 0, 0], outputs
    # what Slack refused or left unclear waits for a later pass: run it, as the scheduler would
    later = subprocess.run([RAPPORT, "sweep", "--at", LATER], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert later.returncode == 0, later.stderr

    with database.sessions() as session:
        statuses = dict(session.execute(select(Nudge.status, func.count()).group_by(Nudge.status)).all())
        ids = set(session.scalars(select(Nudge.id)))
    posted = fake_slack.posted_nudge_ids()
    # planned once each, whichever process planned them: a nudge per client and, it being Monday morning,
    # one weekly digest per channel
    assert len(ids) == CLIENTS + CHANNELS
    assert sorted(posted) == sorted(ids), "every nudge and digest posted exactly once"
    assert statuses == {"sent": CLIENTS + CHANNELS}
    digests = [m for history in fake_slack.messages.values() for m in history
               if m["text"].startswith("Weekly digest 2026-W47")]
    assert sorted(m["channel"] for m in digests) == sorted(f"C{i:03d}" for i in range(CHANNELS))
    summaries = [out.strip().splitlines()[-1] for out, _ in outputs]
    print("\n".join([*summaries, later.stdout]))
    assert sum(" posted 0 " not in s for s in summaries) >= 2, "the sweepers really did deliver side by side"
    assert sum(int(s.split("planned ")[1].split()[0].rstrip(";")) for s in summaries) == CLIENTS + CHANNELS
