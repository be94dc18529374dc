"""Monthly review cost (PRODUCT.md §7): one client's review with 100,000 clients stored (budget ≤ 1 s), and freezing
a month for 100,000 clients (short transactions, under 200 MB).

    python bench/review.py                 # SQLite, 100,000 clients x 10 interactions; appends to bench/RESULTS.md
    python bench/review.py --postgres      # the same on PostgreSQL
    python bench/review.py --quick         # 5,000 clients: a smoke run, nothing appended

It builds one workspace of N clients with 10 interactions each over the last four months (some captured from a
linked channel, so answer times are worked out), a promise and an issue for one client in 20, then, in a fresh
process each:
  - `/client review` of one client as the command works it out: the current month so far, and a past month read
    frozen (best of 5 each);
  - the month-end freeze as the sweep runs it (bot.nudges.planner.plan: a page of 250 clients per transaction),
    in steady state (October frozen first, untimed; then November, timed): total time, the longest transaction,
    and the process's peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert, select, text  # noqa: E402
from sweep_plan import _fresh as fresh_database  # noqa: E402 - the same fresh database, another label

from storage.db import make_engine  # noqa: E402
from storage.models import Client, Commitment, Interaction, LinkedChannel, Workspace  # noqa: E402

FREEZE_AT = datetime(2026, 12, 1, 8, tzinfo=UTC)  # the first sweep of December freezes November
KINDS = ("call", "email", "meeting", "message", "visit", "help", "acted", "delay")


def build(url: str, clients: int, per_client: int = 10, seed: int = 11) -> int:
    rng = random.Random(seed)
    engine = make_engine(url)
    start = FREEZE_AT - timedelta(days=120)
    with engine.begin() as conn:
        workspace_id = conn.execute(insert(Workspace).values(team_id="TBENCH", enterprise_id="", created_at=start)
                                    .returning(Workspace.id)).scalar_one()
        for first in range(0, clients, 5000):
            rows = [{"workspace_id": workspace_id, "name": f"Client {i:07d}", "name_key": f"client {i:07d}",
                     "owner_id": f"U{i % 40:04d}", "status": "active", "created_at": start - timedelta(days=30),
                     "created_by": "UBENCH"} for i in range(first, min(clients, first + 5000))]
            conn.execute(insert(Client), rows)
        ids = list(conn.execute(select(Client.id).where(Client.workspace_id == workspace_id).order_by(Client.id))
                   .scalars())
        links = [{"workspace_id": workspace_id, "client_id": cid, "channel_id": f"C{cid:09d}", "shared": True,
                  "linked_by": "UBENCH", "linked_at": start} for cid in ids[::10]]
        conn.execute(insert(LinkedChannel), links)
        linked = {row["client_id"] for row in links}
        batch: list[dict[str, object]] = []
        for cid in ids:
            for n in range(per_client):
                at = start + timedelta(minutes=rng.randint(0, 120 * 24 * 60))
                captured = cid in linked and n < 4
                batch.append({"workspace_id": workspace_id, "client_id": cid,
                              "kind": "message" if captured else rng.choice(KINDS),
                              "direction": ("in" if n % 2 == 0 else "out") if captured else rng.choice(
                                  ("in", "out", "both")),
                              "occurred_at": at, "logged_by": "UBENCH", "created_at": at,
                              "source": "slack" if captured else None,
                              "channel_id": f"C{cid:09d}" if captured else None,
                              "message_ts": f"{at.timestamp():.6f}.{n}" if captured else None})
            if len(batch) >= 20000:
                conn.execute(insert(Interaction), batch)
                batch = []
        if batch:
            conn.execute(insert(Interaction), batch)
        owed = []
        for cid in ids[::20]:
            owed.append({"workspace_id": workspace_id, "client_id": cid, "kind": "promise", "what": "the deck",
                         "due_on": date(2026, 11, 13), "created_at": start, "created_by": "UBENCH",
                         "done_at": datetime(2026, 11, 16, 12, tzinfo=UTC) if cid % 40 else None})
            owed.append({"workspace_id": workspace_id, "client_id": cid, "kind": "issue", "what": "the VAT",
                         "due_on": None, "created_at": datetime(2026, 11, 3, 12, tzinfo=UTC), "created_by": "UBENCH",
                         "done_at": None})
        conn.execute(insert(Commitment), owed)
    engine.dispose()
    return ids[len(ids) // 2]


def measure_review(url: str, client_id: int) -> dict[str, float]:
    from zoneinfo import ZoneInfo

    from bot.database import open_database
    from bot.reviews.figures import Rules
    from bot.reviews.view import review_of
    from bot.settings import Settings
    from storage.models import Client as ClientRow

    database = open_database(Settings(database_url=url))
    rules = Rules(ZoneInfo("UTC"))
    now = FREEZE_AT + timedelta(days=6)
    result = {}
    for label, key in (("so_far_ms", "2026-12"), ("frozen_ms", "2026-11"), ("worked_out_ms", "2026-10")):
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            with database.sessions() as session:
                client = session.get(ClientRow, client_id)
                assert client is not None
                review_of(session, client, key, now, rules)
                session.rollback()
            best = min(best, time.perf_counter() - started)
        result[label] = best * 1000
    database.engine.dispose()
    return result


def measure_freeze(url: str) -> dict[str, float]:
    from bot.database import open_database
    from bot.nudges.planner import plan
    from bot.settings import Settings
    from storage.models import ReviewMonth

    database = open_database(Settings(database_url=url))
    plan(database.sessions, FREEZE_AT - timedelta(days=30))  # October, frozen at its month end: untimed
    with database.sessions.begin() as session:
        session.execute(text("DELETE FROM nudges"))
    started = time.perf_counter()
    report = plan(database.sessions, FREEZE_AT)
    took = time.perf_counter() - started
    with database.sessions() as session:
        frozen = session.scalar(select(text("count(*)")).select_from(ReviewMonth))
    database.engine.dispose()
    return {"freeze_s": took, "longest_tx_s": report.longest_batch_s, "transactions": report.batches,
            "frozen": float(frozen or 0), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(args: argparse.Namespace) -> None:
    result = measure_review(args.url, args.client) if args.child == "review" else measure_freeze(args.url)
    print(json.dumps(result))


def _in_fresh_process(what: str, url: str, client: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", what, "--url", url, "--client", str(client)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    clients = 5000 if args.quick else args.clients
    backend = "postgresql" if args.postgres else "sqlite"
    url = fresh_database(backend, "review")
    started = time.perf_counter()
    client = build(url, clients)
    print(f"built {clients:,} clients in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    review = _in_fresh_process("review", url, client)  # before the freeze: November is worked out
    freeze = _in_fresh_process("freeze", url, client)
    frozen = _in_fresh_process("review", url, client)  # after it: November is read frozen
    line = (f"| {backend} | {clients:,} | {clients * 10:,} | {frozen['so_far_ms']:.1f} ms | "
            f"{frozen['frozen_ms']:.1f} ms | {review['frozen_ms']:.1f} ms | {freeze['freeze_s']:.1f} s | "
            f"{int(freeze['transactions'])} | {freeze['longest_tx_s'] * 1000:.0f} ms | {freeze['peak_mb']:.0f} MB |")
    print(line)
    if args.quick:
        return
    results = ROOT / "bench" / "RESULTS.md"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    with results.open("a", encoding="utf-8") as out:
        out.write(f"\n## Monthly review (issue 22) — {datetime.now(UTC):%Y-%m-%d}, {machine}, {backend}\n\n"
                  "| database | clients | interactions | review, month so far | review, frozen month | "
                  "review, past month worked out (not frozen) | freeze a month | transactions | "
                  "longest transaction | peak memory |\n|---|---|---|---|---|---|---|---|---|---|\n"
                  f"{line}\n\nBudget (PRODUCT.md §7): a review of one client ≤ 1 s with 100,000 clients stored; "
                  "freezing a month for 100,000 clients in short transactions (about a second at most), under "
                  "200 MB. Freezing ran as the sweep runs it (`plan` at the month's first sweep, nothing else "
                  f"due), with the month before already frozen; {int(freeze['frozen']):,} reviews frozen in "
                  "all (both months).\n")


if __name__ == "__main__":
    main()
