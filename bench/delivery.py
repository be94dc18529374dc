"""Delivery of 1,000 nudges over 20 channels through a fake Slack that allows one message per second per
channel (429 + Retry-After beyond that), against the ideal of all channels posting in parallel.

    python bench/delivery.py        # appends to bench/RESULTS.md
"""

from __future__ import annotations

import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import func, insert, select  # noqa: E402

from bot.database import open_database  # noqa: E402
from bot.nudges.messages import MAX_CLIENTS_PER_MESSAGE  # noqa: E402
from bot.nudges.sweep import delivery_client, sweep  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.models import Client, Nudge, Workspace  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

NUDGES, CHANNELS = 1000, 20
AT = datetime(2026, 11, 16, 10, tzinfo=UTC)


def main() -> int:
    path = Path(tempfile.mkdtemp()) / "delivery.db"
    settings_db = Settings(database_url=f"sqlite:///{path}")
    database = open_database(settings_db)
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="TBENCH", enterprise_id="", created_at=AT)
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:04d}", "name_key": f"client {i:04d}",
             "owner_id": "UANA", "channel_id": f"C{i % CHANNELS:03d}", "status": "active",
             "created_at": AT.replace(month=9), "created_by": "UANA", "next_quiet_at": AT.replace(day=1)}
            for i in range(NUDGES)])
    fake = FakeSlack(per_channel_interval=1.0)
    settings = Settings(database_url=settings_db.database_url, slack_bot_token="xoxb-bench",
                        slack_api_url=fake.api_url, digest=None)
    started = time.perf_counter()
    passes = 0
    while True:  # what the scheduler would do: sweep again until nothing is left waiting
        passes += 1
        sweep(database, settings, delivery_client(settings), AT)
        with database.sessions() as session:
            left = session.scalar(select(func.count()).select_from(Nudge).where(Nudge.status != "sent"))
        if not left or passes > 50:
            break
    elapsed = time.perf_counter() - started
    posted = fake.posted_nudge_ids()
    with database.sessions() as session:
        planned = session.scalar(select(func.count()).select_from(Nudge))
    per_channel = math.ceil(NUDGES / CHANNELS / MAX_CLIENTS_PER_MESSAGE)
    ideal = per_channel - 1  # messages one second apart per channel, all channels at once
    lost, doubled = planned - len(set(posted)), len(posted) - len(set(posted))
    rate_limited = fake.rate_limited
    fake.close()
    database.engine.dispose()
    messages = sum(len(h) for h in fake.messages.values())
    line = (f"| {NUDGES:,} | {CHANNELS} | {messages} | {elapsed:.1f} s | {ideal} s | {elapsed / max(ideal, 1):.2f}x "
            f"| {passes} | {rate_limited} | {lost} | {doubled} |")
    print(line)
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write(f"\n## Delivery under Slack's rate limit (issue 6) — {datetime.now(UTC):%Y-%m-%d}, "
                  f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}\n\n"
                  "A fake Slack allowing one message per second per channel (429 + Retry-After beyond that); "
                  "SQLite; sweeps repeated until nothing is waiting, as the scheduler would.\n\n"
                  "| nudges | channels | messages | total time | ideal (channels in parallel) | ratio | sweeps "
                  "| 429s answered | lost | doubled |\n|---|---|---|---|---|---|---|---|---|---|\n" + line + "\n")
    return 0 if lost == 0 and doubled == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
