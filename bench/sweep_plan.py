"""Sweep planning cost versus history size (PRODUCT.md §7), on SQLite and PostgreSQL.

    python bench/sweep_plan.py            # both databases, 1x and 10x history; appends to bench/RESULTS.md
    python bench/sweep_plan.py --quick    # 10,000 clients: a smoke run
    python bench/sweep_plan.py --versus-due   # 1x history, 0.1%, 1% and 5% due; appends to bench/RESULTS.md
    python bench/sweep_plan.py --focus        # 1% due: planning, then focus choosing the day's cards (§4.8)
    python bench/sweep_plan.py --first-sweep  # the first sweep over seed-demo's neglected portfolio

For each database and history size it builds a workspace of N clients with 10 interactions each, 1% of the
clients due a nudge (quiet, unanswered, check-in, at-risk), then, in a fresh process, times:
  - the floor: the one indexed query that selects the due clients;
  - a dry-run sweep (planning everything due, then rolling back), best of 3;
and reports the process's peak memory (ru_maxrss). Budget: plan <= 2 s; 10x history <= 1.5x the time;
peak memory < 200 MB.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from storage.db import make_engine, normalize_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Client, Workspace  # noqa: E402

NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)
PG = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
KINDS = ("call", "email", "meeting", "message", "visit", "note")
DIRECTIONS = ("in", "out", "both")


def _fresh(backend: str, label: str) -> str:
    if backend == "sqlite":
        path = Path("/tmp") / f"rapport-bench-{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        schema = f"rapport_bench_{label}"
        admin = create_engine(normalize_url(PG))
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url


def build(url: str, clients: int, per_client: int, seed: int = 7, due_every: int = 100) -> None:
    """`due_every`: one client in that many is due (100: 1%)."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with engine.begin() as conn:
        workspace_id = conn.execute(insert(Workspace).values(team_id="TBENCH", enterprise_id="", created_at=NOW)
                                    .returning(Workspace.id)).scalar_one()
        rows = []
        for i in range(clients):
            due = i % due_every == 0
            kind = (i // due_every) % 4
            heard = NOW - timedelta(days=rng.randint(1, 25))
            row = {
                "workspace_id": workspace_id, "name": f"Client {i:07d}", "name_key": f"client {i:07d}",
                "owner_id": f"U{(i // 7) % 40:04d}", "status": "active", "created_at": NOW - timedelta(days=400),
                "created_by": "UBENCH", "last_their_contact_at": heard, "last_contact_at": heard,
                "last_contact_direction": "both", "next_quiet_at": heard + timedelta(days=30),
                "channel_id": f"C{i % 25:04d}", "unanswered_count": 0, "unanswered_since": None,
                "next_unanswered_at": None, "checkin_count": None, "checkin_unit": None, "checkin_set_at": None,
                "next_checkin_at": None, "next_at_risk_at": None, "last_warning_at": None,
            }
            if due and kind == 0:
                row["next_quiet_at"] = NOW - timedelta(days=1)
            elif due and kind == 1:
                row.update(unanswered_count=3, unanswered_since=NOW - timedelta(days=9),
                           next_unanswered_at=NOW - timedelta(days=2))
            elif due and kind == 2:
                row.update(checkin_count=2, checkin_unit="w", checkin_set_at=NOW - timedelta(days=20),
                           next_checkin_at=NOW - timedelta(days=6))
            elif due:
                row.update(next_at_risk_at=NOW - timedelta(hours=2), last_warning_at=NOW - timedelta(days=1))
            rows.append(row)
            if len(rows) == 5000:
                conn.execute(insert(Client), rows)
                rows = []
        if rows:
            conn.execute(insert(Client), rows)
        first_id = conn.execute(text("SELECT min(id) FROM clients")).scalar_one()
    _interactions(engine, workspace_id, first_id, clients, per_client, rng, due_every)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _interactions(engine, workspace_id: int, first_id: int, clients: int, per_client: int, rng,  # type: ignore[no-untyped-def]
                  due_every: int) -> None:
    created = NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy("COPY interactions (workspace_id, client_id, kind, direction, "
                                               "occurred_at, logged_by, created_at) FROM STDIN") as copy:
                for c in range(clients):
                    for _ in range(per_client):
                        copy.write_row((workspace_id, first_id + c, rng.choice(KINDS), rng.choice(DIRECTIONS),
                                        NOW - timedelta(days=rng.randint(1, 365)), "UBENCH", NOW))
                    if c % (clients // 100 or 1) == 0 and (c // (clients // 100 or 1)) % 20 == 0:
                        print(f"  interactions {c * per_client:,}", file=sys.stderr)
                # two warning signs for each at-risk client, so planning has something to read
                for c in range(0, clients, due_every):
                    if (c // due_every) % 4 == 3:
                        for days in (1, 12):
                            copy.write_row((workspace_id, first_id + c, "cancel", "in",
                                            NOW - timedelta(days=days), "UBENCH", NOW))
            raw.commit()
        finally:
            raw.close()
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        sql = ("INSERT INTO interactions (workspace_id, client_id, kind, direction, occurred_at, logged_by, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        batch = []
        for c in range(clients):
            for _ in range(per_client):
                when = (NOW - timedelta(days=rng.randint(1, 365))).replace(tzinfo=None)
                batch.append((workspace_id, first_id + c, rng.choice(KINDS), rng.choice(DIRECTIONS), when,
                              "UBENCH", created))
            if c % due_every == 0 and (c // due_every) % 4 == 3:
                for days in (1, 12):
                    batch.append((workspace_id, first_id + c, "cancel", "in",
                                  (NOW - timedelta(days=days)).replace(tzinfo=None), "UBENCH", created))
            if len(batch) >= 50_000:
                cur.executemany(sql, batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
        cur.execute("COMMIT")
    finally:
        raw.close()


FLOOR_SQL = """
SELECT id FROM clients WHERE next_quiet_at < :now
UNION ALL SELECT id FROM clients WHERE next_unanswered_at <= :now
UNION ALL SELECT id FROM clients WHERE next_checkin_at <= :now
UNION ALL SELECT id FROM clients WHERE next_at_risk_at <= :now
"""


def measure(url: str) -> dict[str, float]:
    """Runs in its own process, so ru_maxrss is the sweep's footprint, not the generator's."""
    from bot.database import open_database
    from bot.nudges.sweep import plan_pass
    from bot.settings import Settings

    database = open_database(Settings(database_url=url), migrate_sqlite=False)
    now = NOW.replace(tzinfo=None) if database.engine.dialect.name == "sqlite" else NOW
    floors, plans, planned = [], [], 0
    for _ in range(3):
        with database.engine.connect() as conn:
            start = time.perf_counter()
            due = len(conn.execute(text(FLOOR_SQL), {"now": now}).all())
            floors.append(time.perf_counter() - start)
        start = time.perf_counter()
        report = plan_pass(database, NOW, dry_run=True)
        plans.append(time.perf_counter() - start)
        planned = sum(report.planned.values())
    database.engine.dispose()
    return {"floor_s": min(floors), "plan_s": min(plans), "due": due, "planned": planned,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_focus(url: str) -> dict[str, float]:
    """One real planning pass, then focus choosing the day's cards from it, then (read-only, best of 3) the
    ranking pass alone over everything waiting. In its own process, for ru_maxrss."""
    from bot.database import open_database
    from bot.nudges import focus
    from bot.nudges.sweep import plan_pass
    from bot.settings import Settings
    from storage.models import Workspace

    settings = Settings(database_url=url, digest=None)
    database = open_database(settings, migrate_sqlite=False)
    start = time.perf_counter()
    report = plan_pass(database, NOW, False, settings)
    plan_s = time.perf_counter() - start
    with database.sessions() as session:
        workspaces = list(session.scalars(select(Workspace)))
        scale = focus.scale_of(session, workspaces[0], settings.tz, settings.business_hours)
    ranks = []
    for _ in range(3):
        with database.sessions() as session:
            start = time.perf_counter()
            waiting = sum(1 for _ in focus.ranked_waiting(session, workspaces[0].id, None, NOW, scale))
            ranks.append(time.perf_counter() - start)
    start = time.perf_counter()
    chosen = focus.select(database.sessions, NOW, settings, workspaces)
    focus_s = time.perf_counter() - start
    database.engine.dispose()
    return {"plan_s": plan_s, "planned": sum(report.planned.values()), "rank_s": min(ranks), "waiting": waiting,
            "focus_s": focus_s, "cards": chosen.cards, "people": chosen.people,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _focus(backends: list[str], clients: int, *, write: bool) -> int:
    results = []
    for backend in backends:
        url = _fresh(backend, f"{backend[:2]}focus")
        build(url, clients, 10)
        out = subprocess.run([sys.executable, __file__, "--measure-focus", url], capture_output=True, text=True,
                             check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures.update(backend=backend, clients=clients)
        print(json.dumps(figures), flush=True)
        results.append(figures)
    if write:
        machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        lines = [f"\n## Focus against planning (issue 11) — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}: "
                 f"{machine}, Python {platform.python_version()}", "",
                 f"`python bench/sweep_plan.py --focus`: {clients:,} clients, 1,000,000 interactions, 1% due "
                 f"(owned by {results[0]['people']} of the 40 owners), budget 5. One real planning pass; then focus "
                 "ranks every waiting client and makes the day's cards; the ranking pass alone is timed again "
                 "read-only (best of 3).", "",
                 "| database | planned | planning | ranking pass (waiting clients) | focus: rank and make cards | "
                 "cards | (planning + focus) / planning | peak memory |", "|---|---|---|---|---|---|---|---|"]
        for r in results:
            lines.append(f"| {r['backend']} | {r['planned']:,} | {r['plan_s'] * 1000:.0f} ms | "
                         f"{r['rank_s'] * 1000:.0f} ms ({r['waiting']:,}) | {r['focus_s'] * 1000:.0f} ms | "
                         f"{r['cards']} for {r['people']} people | {(r['plan_s'] + r['focus_s']) / r['plan_s']:.2f}x "
                         f"| {r['peak_mb']:.0f} MB |")
        lines += ["", "Budget (PRODUCT.md §7): ranking every due nudge costs at most 1.5× the planning time "
                  "without it."]
        with (ROOT / "bench" / "RESULTS.md").open("a") as out_file:
            out_file.write("\n".join(lines) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--measure")
    parser.add_argument("--measure-focus")
    parser.add_argument("--focus", action="store_true", help="planning against focus at 1%% due")
    parser.add_argument("--first-sweep", action="store_true", help="the first sweep over seed-demo's portfolio")
    parser.add_argument("--measure-sweep", nargs=2, metavar=("URL", "SLACK_API_URL"))
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--label", default="after", help="first-sweep: 'before' or 'after' a change")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--versus-due", action="store_true",
                        help="1x history with 0.1%%, 1%% and 5%% of clients due, instead of 1x/10x history")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.measure_focus:
        print(json.dumps(measure_focus(args.measure_focus)))
        return 0
    if args.measure_sweep:
        from first_sweep import measure as measure_sweep

        print(json.dumps(measure_sweep(*args.measure_sweep)))
        return 0
    if args.first_sweep:
        from first_sweep import run_size, write

        results = []
        for backend in args.backends.split(","):
            for clients in (int(n) for n in args.sizes.split(",")):
                url = _fresh(backend, f"{backend[:2]}first{clients}")
                figures = run_size(url, clients)
                figures["backend"] = backend
                print(json.dumps(figures), flush=True)
                results.append(figures)
        write(results, args.label)
        return 0
    if args.focus:
        return _focus(args.backends.split(","), 10_000 if args.quick else 100_000, write=not args.quick)
    if args.versus_due:
        return _versus_due(args.backends.split(","), 10_000 if args.quick else 100_000, write=not args.quick)
    clients = 10_000 if args.quick else 100_000
    results = []
    for backend in args.backends.split(","):
        for factor in (1, 10):
            label = f"{backend[:2]}{factor}x"
            url = _fresh(backend, label)
            started = time.perf_counter()
            build(url, clients, 10 * factor)
            built = time.perf_counter() - started
            out = subprocess.run([sys.executable, __file__, "--measure", url], capture_output=True, text=True,
                                 check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            figures.update(backend=backend, clients=clients, interactions=clients * 10 * factor, factor=factor,
                           build_s=built)
            print(json.dumps(figures), flush=True)
            results.append(figures)
    if not args.quick:
        _write(results)
    return 0


DUE_EVERY = (1000, 100, 20)  # 0.1%, 1%, 5% of clients due


def _versus_due(backends: list[str], clients: int, *, write: bool) -> int:
    results = []
    for backend in backends:
        for due_every in DUE_EVERY:
            url = _fresh(backend, f"{backend[:2]}due{due_every}")
            build(url, clients, 10, due_every=due_every)
            out = subprocess.run([sys.executable, __file__, "--measure", url], capture_output=True, text=True,
                                 check=True)
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            figures.update(backend=backend, clients=clients, interactions=clients * 10, due_every=due_every)
            print(json.dumps(figures), flush=True)
            results.append(figures)
    if write:
        _write_versus_due(results)
    return 0


def _write_versus_due(results: list[dict]) -> None:  # type: ignore[type-arg]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [f"\n## Sweep planning versus the number due (issue 6) — {datetime.now(UTC):%Y-%m-%d}, "
             f"{platform.node()}: {machine}, Python {platform.python_version()}",
             "", "Same data as above at 1× history (100,000 clients, 1,000,000 interactions); only the share of "
             "clients due changes. `python bench/sweep_plan.py --versus-due`.", "",
             "| database | due | floor (indexed due query) | dry-run plan | per nudge | plan / floor | time vs 1% due "
             "| due vs 1% | peak memory |", "|---|---|---|---|---|---|---|---|---|"]
    base = {r["backend"]: r for r in results if r["due_every"] == 100}
    for r in results:
        b = base[r["backend"]]
        lines.append(f"| {r['backend']} | {r['planned']:,} | {r['floor_s'] * 1000:.1f} ms | "
                     f"{r['plan_s'] * 1000:.0f} ms | {r['plan_s'] / max(r['planned'], 1) * 1000:.2f} ms | "
                     f"{r['plan_s'] / r['floor_s']:.0f}x | {r['plan_s'] / b['plan_s']:.2f}x | "
                     f"{r['planned'] / b['planned']:.2f}x | {r['peak_mb']:.0f} MB |")
    lines.append("")
    lines.append("Budget (PRODUCT.md §7): cost follows the number due; 1% due plans in ≤ 2 s; peak memory < 200 MB.")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


def _write(results: list[dict]) -> None:  # type: ignore[type-arg]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [f"\n## Sweep planning (issue 3) — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}: "
             f"{machine}, Python {platform.python_version()}",
             "", "| database | clients | interactions | due | floor (indexed due query) | dry-run plan | plan / floor "
             "| 10x / 1x | peak memory |", "|---|---|---|---|---|---|---|---|---|"]
    base = {r["backend"]: r["plan_s"] for r in results if r["factor"] == 1}
    for r in results:
        growth = f"{r['plan_s'] / base[r['backend']]:.2f}x" if r["factor"] == 10 else "—"
        lines.append(f"| {r['backend']} | {r['clients']:,} | {r['interactions']:,} | {r['planned']:,} | "
                     f"{r['floor_s'] * 1000:.1f} ms | {r['plan_s'] * 1000:.0f} ms | "
                     f"{r['plan_s'] / r['floor_s']:.0f}x | "
                     f"{growth} | {r['peak_mb']:.0f} MB |")
    lines.append("")
    lines.append("Budget (PRODUCT.md §7): plan ≤ 2 s; 10× history ≤ 1.5× the time; peak memory < 200 MB.")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
