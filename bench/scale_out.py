"""Scale-out (PRODUCT.md §7, issue 24): a first sweep split between 1, 2 and 4 worker processes on one PostgreSQL.

    python bench/scale_out.py                                   # 1,000 workspaces x 100 clients; 1, 2, 4 processes
    python bench/scale_out.py --workspaces 200 --processes 1 2  # smaller

For each process count: a fresh schema, WORKSPACES workspaces of CLIENTS clients each, every client gone quiet
(a first sweep: all of them due), one channel per workspace (1,000 channels), two owners per workspace and a focus
budget that lets every nudge out; a fake Slack allowing one message a second per channel (429 + Retry-After beyond
that). N processes start at once, each doing what a worker does: one shared planning pass (bot/nudges/leases.py),
then sweeps until nothing is left to post. Recorded: nudges planned per second (all planned / until the last
process finished planning), nudges delivered per second (all posted / until the last post), efficiency against
one process (rate_N / (N x rate_1)), work repeated (from the lease rows: a workspace planned more than once in
the pass; must be 0) and nudges posted twice (from the fake Slack; must be 0), and each process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from storage.db import normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

PG_URL = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
AT = datetime(2026, 11, 17, 10, tzinfo=UTC)  # a Tuesday morning
OWNERS = 2
ENV = {"RAPPORT_BUSINESS_HOURS": "mon-sun 00:00-24:00", "RAPPORT_DIGEST": "off", "RAPPORT_DAILY_FOCUS": "100",
       "SLACK_BOT_TOKEN": "xoxb-bench"}


def worker(url: str, api_url: str, plan_only: bool) -> None:
    """One worker process: the shared planning pass, then sweeps until nothing is ready to post."""
    from bot.database import open_database
    from bot.nudges.sweep import delivery_client, plan_shared_pass, sweep
    from bot.settings import load_settings
    from storage.models import Nudge

    settings = load_settings({**os.environ, **ENV, "DATABASE_URL": url, "SLACK_API_URL": api_url})
    database = open_database(settings)
    slack = delivery_client(settings)
    started = time.time()
    planned = sum(plan_shared_pass(database, AT, settings).planned.values())
    planned_at = time.time()
    posted = passes = 0
    ready = Nudge.status.in_(("pending", "sending", "unknown")) & (Nudge.card_id.is_not(None)
                                                                    | Nudge.client_id.is_(None))
    while not plan_only and passes < 30:
        passes += 1
        report = sweep(database, settings, slack, AT)
        posted += report.delivery.posted if report.delivery else 0
        with database.sessions() as session:
            if not session.scalar(select(func.count()).select_from(Nudge).where(ready)):
                break
    database.engine.dispose()
    print(json.dumps({"started": started, "planned_at": planned_at, "ended": time.time(), "planned": planned,
                      "posted": posted, "passes": passes,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _schema_url() -> tuple[str, str]:
    schema = f"rapport_scale_{uuid.uuid4().hex[:8]}"
    with create_engine(normalize_url(PG_URL)).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _seed(url: str, workspaces: int, clients: int) -> None:
    from storage.models import Client, Workspace

    engine = create_engine(normalize_url(url))
    created = AT - timedelta(days=120)
    with engine.begin() as conn:
        ids = conn.execute(insert(Workspace).returning(Workspace.id), [
            {"team_id": f"T{w:05d}", "enterprise_id": "", "created_at": created} for w in range(workspaces)]).scalars()
        for w, workspace_id in enumerate(list(ids)):
            conn.execute(insert(Client), [
                {"workspace_id": workspace_id, "name": f"Client {i:04d}", "name_key": f"client {i:04d}",
                 "owner_id": f"U{i % OWNERS}", "channel_id": f"C{w:05d}", "status": "active", "created_at": created,
                 "created_by": "U0", "next_quiet_at": AT - timedelta(days=30)} for i in range(clients)])
        conn.execute(text("ANALYZE workspaces, clients"))  # this schema's, not every schema of the database
    engine.dispose()


def _rows_read(session) -> Counter[str]:  # type: ignore[no-untyped-def]
    """Rows the schema's tables have handed out so far (sequential and index reads), per table: the processes'
    statistics, flushed as each one exits."""
    return Counter(dict(session.execute(text(
        "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables "
        "WHERE schemaname = current_schema()")).all()))


def run(processes: int, workspaces: int, clients: int, plan_only: bool) -> dict[str, object]:
    from storage.leases import plans_in_pass
    from storage.models import Nudge
    from tests.fake_slack import FakeSlack

    schema, url = _schema_url()
    try:
        upgrade(url)
        _seed(url, workspaces, clients)
        engine = create_engine(normalize_url(url))
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            seeding_read = _rows_read(session)
        engine.dispose()
        fake = FakeSlack(per_channel_interval=1.0)
        env = {**os.environ, **ENV}
        workers = [subprocess.Popen([sys.executable, __file__, "--worker", url, fake.api_url,
                                     *(["--plan-only"] if plan_only else [])], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                   for _ in range(processes)]
        outs = [w.communicate(timeout=3600)[0] for w in workers]
        assert all(w.returncode == 0 for w in workers), outs
        figures = [json.loads(out.strip().splitlines()[-1]) for out in outs]
        posted_ids = fake.posted_nudge_ids()
        fake.close()
        engine = create_engine(normalize_url(url))

        from bot.nudges.leases import pass_of
        from bot.settings import Settings

        with Session(engine) as session:
            plans = plans_in_pass(session, pass_of(AT, Settings.sweep_minutes))
            nudges = session.scalar(select(func.count()).select_from(Nudge))
            sent = session.scalar(select(func.count()).select_from(Nudge).where(Nudge.status == "sent"))
            read = _rows_read(session) - seeding_read
        engine.dispose()
    finally:
        with create_engine(normalize_url(PG_URL)).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    planned = sum(f["planned"] for f in figures)
    started = min(f["started"] for f in figures)  # the first worker ready (interpreter start-up not counted)
    plan_s = max(f["planned_at"] for f in figures) - started
    total_s = max(f["ended"] for f in figures) - started
    return {"processes": processes, "workspaces": workspaces, "clients": workspaces * clients, "planned": planned,
            "nudges": nudges, "sent": sent, "posted": len(posted_ids),
            "doubled": len(posted_ids) - len(set(posted_ids)),
            "plan_s": plan_s, "total_s": total_s, "plan_rate": planned / plan_s, "post_rate": len(posted_ids) / total_s,
            "repeated": sum(n - 1 for n in plans.values()), "planned_workspaces": len(plans),
            "rows_read": dict(read.most_common()),
            "by_process": [f["planned"] for f in figures], "peak_mb": [round(f["peak_mb"]) for f in figures]}


def write(results: list[dict[str, object]], plan_only: bool) -> None:
    one = next((r for r in results if r["processes"] == 1), None)
    lines = [f"\n## Scale-out: a first sweep split between worker processes (issue 24) — {datetime.now(UTC):%Y-%m-%d}, "
             f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL", "",
             f"`python bench/scale_out.py`: {results[0]['workspaces']:,} workspaces x "
             f"{results[0]['clients'] // results[0]['workspaces']:,} clients, all due (a first sweep), one channel "
             "per workspace, a fake Slack allowing one message a second per channel; N `worker`-like processes "
             "started at once on this machine, each planning its share"
             + (" (planning only: nothing posted)." if plan_only else " then posting until nothing is left."), "",
             "| processes | planned | planning | planned / s | posted | until the last post | posted / s | "
             "efficiency (planned / posted) | work repeated | posted twice | planned by each | peak memory each | "
             "rows read (vs one process) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        n = int(r["processes"])  # type: ignore[call-overload]
        eff = "—"
        if one:
            eff = f"{r['plan_rate'] / (n * one['plan_rate']):.2f} / " + (  # type: ignore[operator]
                f"{r['post_rate'] / (n * one['post_rate']):.2f}" if one["post_rate"] else "—")  # type: ignore[operator]
        lines.append(f"| {n} | {r['planned']:,} | {r['plan_s']:.1f} s | {r['plan_rate']:,.0f} | {r['posted']:,} | "
                     f"{r['total_s']:.1f} s | {r['post_rate']:,.0f} | {eff} | {r['repeated']} | {r['doubled']} | "
                     f"{', '.join(f'{p:,}' for p in r['by_process'])} | "  # type: ignore[attr-defined]
                     f"{', '.join(f'{m} MB' for m in r['peak_mb'])} | {_reads(r, one)} |")  # type: ignore[attr-defined]
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


def _reads(r: dict[str, object], one: dict[str, object] | None) -> str:
    """All rows read, against one process's, and the three tables read most."""
    mine: dict[str, int] = r["rows_read"]  # type: ignore[assignment]
    total = sum(mine.values())
    base = sum(one["rows_read"].values()) if one else 0  # type: ignore[attr-defined]
    top = ", ".join(f"{t} {n:,}" for t, n in sorted(mine.items(), key=lambda kv: -kv[1])[:3])
    return f"{total:,}" + (f" ({total / base:.2f}x)" if base else "") + f": {top}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("URL", "API_URL"))
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--plan-only", action="store_true", help="planning only: no delivery")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.plan_only)
        return 0
    results = []
    for n in args.processes:
        result = run(n, args.workspaces, args.clients, args.plan_only)
        print(json.dumps(result), flush=True)
        results.append(result)
    if not args.no_write:
        write(results, args.plan_only)
    return 0 if all(r["repeated"] == 0 and r["doubled"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
