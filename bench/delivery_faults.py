"""Delivery under many random fault schedules (issue 20), the long run of tests/test_delivery_faults.py: each
schedule has two or three sweepers at once against the fake Slack, with 429s, 5xx before sending, 5xx,
dropped connections and timeouts after Slack recorded the message, failed history look-ups, and clients
forgotten while their card is in flight; after it, every due nudge must be in its channel exactly once and
the database must agree with the channels' history (tests/delivery_schedules.py).

    python bench/delivery_faults.py [--schedules 200] [--seed 1] [--databases sqlite,postgresql]
                                                       # appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, text  # noqa: E402

from bot.database import open_database  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.delivery_schedules import random_schedule, run  # noqa: E402

PG_URL = os.environ.get("RAPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _database(kind: str) -> tuple[str, object]:
    """A migrated, empty database of that kind, and how to drop it afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'faults.db'}"
        upgrade(url)
        return url, lambda: None
    schema = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    upgrade(url)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=200, help="per database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    rows, failures = [], 0
    for kind in args.databases.split(","):
        url, drop = _database(kind)
        database = open_database(Settings(database_url=url))
        rng = random.Random(args.seed)
        faults: Counter[str] = Counter()
        bad: list[tuple[object, list[str]]] = []
        started = time.perf_counter()
        for _ in range(args.schedules):
            schedule = random_schedule(rng)
            faults.update(schedule.posts)
            faults.update(f"history {f}" for f in schedule.histories if f != "ok")
            faults["forget"] += len(schedule.forgets)
            problems = run(database, schedule)
            if problems:
                bad.append((schedule, problems))
                print(f"{kind}: {schedule}\n  " + "\n  ".join(problems[:5]), flush=True)
        elapsed = time.perf_counter() - started
        database.engine.dispose()
        drop()  # type: ignore[operator]
        failures += len(bad)
        shown = ", ".join(f"{n} {k}" for k, n in sorted(faults.items()) if k != "ok")
        rows.append(f"| {kind} | {args.schedules} | {elapsed:.0f} s | {shown} | {len(bad)} |")
        print(rows[-1], flush=True)
        for schedule, problems in bad[:3]:
            rows.append(f"|   | failing: `{schedule}` | | {problems[0][:120]} | |")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write(f"\n## Delivery under random fault schedules (issue 20) — {datetime.now(UTC):%Y-%m-%d}, "
                  f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}\n\n"
                  f"`python bench/delivery_faults.py --schedules {args.schedules} --seed {args.seed}`: each schedule "
                  "runs 2–3 sweepers at once (3 cards claimed at a time) over 24 due clients in 3 channels, against "
                  "the fake Slack answering posts and history look-ups as the schedule says, then hourly passes; "
                  "checked: every remaining client's nudge in its channel exactly once, its row `sent` with that "
                  "message's channel and ts, a forgotten client's nudge in at most one message, no claim left to "
                  "a lease.\n\n"
                  "| database | schedules | time | faults injected | schedules with a problem |\n"
                  "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
