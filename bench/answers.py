"""The answer a person waits for (PRODUCT.md §7, issue 24): from sending `/client status`, `list` or `log` to its
reply arriving on response_url, with 100,000 clients stored, served as `rapport serve` serves (gunicorn, one
process per core by default: WEB_CONCURRENCY unset).

    python bench/answers.py                                        # seeds 100,000 clients into a fresh SQLite file
    python bench/answers.py --database postgresql://127.0.0.1/rapport_bench   # seeds that database
    python bench/answers.py [--database URL] --reuse                 # an already seeded database

A mistyped name first: 1 sender, `status` of a client and of its name mistyped by turns (target: the mistyped
one's "Did you mean …?" p50 within 2× the found one's). Then three loads, each a mix of status, list (current,
quiet, mine, at-risk) and log commands:
- 1 sender back to back (the single-sender baseline);
- 10 senders back to back, each waiting for its answer before the next (target: answer p99 ≤ 300 ms);
- 50 senders each sending one every 2 s on average, a Poisson stream, not waiting (target: answer p99 ≤ 2× the
  single sender's).
Acknowledgements are measured server-side from gunicorn's access log (budget: p99 ≤ 100 ms). Appends to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ack_latency import (
    RAPPORT,
    ROOT,
    SECRET,
    _pct,
    _port,
    _send,
    _served_count,
    _served_times,
    _wait,
)
from sqlalchemy import create_engine, make_url, text

from storage.db import normalize_url
from tests.fake_slack import FakeSlack

ANSWER_TARGET_MS = 300.0  # p99 at 10 senders back to back
POISSON_FACTOR = 2.0  # p99 at 50 Poisson senders, against the single sender's p99
ACK_BUDGET_MS = 100.0
MEAN_GAP = 2.0  # seconds between one sender's commands, on average


def _commands(names: list[str], rng: random.Random) -> list[str]:
    """A person's mix: mostly looking a client up and logging touches, lists now and then."""
    out = []
    for name in names:
        out += [f"status {name}", f"log {name} {rng.choice(('call', 'email to', 'meeting from'))}",
                rng.choice(("list", "list quiet", "list mine", "list at-risk"))]
    return out


def _kind(command: str) -> str:
    if command.startswith("status ") and command.endswith(TYPO_MARK):
        return "status, mistyped"
    return command.split()[0] if not command.startswith("list") else command


TYPO_MARK = " "  # a trailing space tells a mistyped name's command apart; Rapport reads the name without it


def _typos(names: list[str]) -> list[str]:
    """`status` of a client, then of the same name mistyped (its second letter left out, as `Benchmrk Co`): a name
    no client has, answered "Did you mean …?"."""
    out = []
    for name in names:
        out += [f"status {name}", f"status {name[:1] + name[2:]}{TYPO_MARK}"]
    return out


def _closed(base: str, fake: FakeSlack, commands: list[str], senders: int, count: int,
            team: str) -> list[tuple[str, float | None]]:
    """`senders` people each sending their next command once the last one's answer arrived."""
    def one(i: int) -> tuple[str, float | None]:
        command = commands[i % len(commands)]
        return command, _send(base, fake, command, team)[1]

    with ThreadPoolExecutor(senders) as pool:
        return list(pool.map(one, range(count)))


def _poisson(base: str, fake: FakeSlack, commands: list[str], senders: int, seconds: float,
             team: str, rng: random.Random) -> list[tuple[str, float | None]]:
    """`senders` people each sending one command every MEAN_GAP seconds on average, not waiting for answers: their
    streams merged are one Poisson stream of senders / MEAN_GAP a second."""
    rate = senders / MEAN_GAP
    results: list[tuple[str, float | None]] = []
    lock = threading.Lock()

    def one(command: str) -> None:
        answered = _send(base, fake, command, team)[1]
        with lock:
            results.append((command, answered))

    start = time.perf_counter()
    at, i = 0.0, 0
    with ThreadPoolExecutor(128) as pool:
        while at < seconds:
            at += rng.expovariate(rate)
            # pacing a load generator to its schedule, not timing a test
            time.sleep(max(0.0, start + at - time.perf_counter()))
            pool.submit(one, commands[i % len(commands)])
            i += 1
    return results


def _row(load: str, senders: int, results: list[tuple[str, float | None]], acks: list[float]) -> dict:  # type: ignore[type-arg]
    answers = [t for _, t in results if t is not None]
    by_kind: dict[str, list[float]] = {}
    for command, t in results:
        if t is not None:
            by_kind.setdefault(_kind(command), []).append(t)
    return {"load": load, "senders": senders, "n": len(results), "lost": len(results) - len(answers),
            "p50": _pct(answers, 0.50), "p99": _pct(answers, 0.99),
            "kinds": {k: (_pct(v, 0.50), _pct(v, 0.99), len(v)) for k, v in sorted(by_kind.items())},
            "ack_p50": _pct(acks, 0.50), "ack_p99": _pct(acks, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="the database is already seeded: skip seed-demo")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the Poisson load runs")
    parser.add_argument("--note", default="", help="a line for RESULTS.md: what else the machine was doing")
    parser.add_argument("--title", default="", help="what changed, for RESULTS.md's heading")
    args = parser.parse_args()
    url = args.database
    if url is None:
        path = Path("/tmp/rapport-answers-bench.db")
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    run_env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([RAPPORT, "migrate"], check=True, env=run_env)
    if not args.reuse:
        subprocess.run([RAPPORT, "seed-demo", "--clients", str(args.clients), "--team", "TBENCH", "--owner", "UYOU"],
                       check=True, env=run_env)
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        team = conn.execute(text("SELECT team_id FROM workspaces ORDER BY id LIMIT 1")).scalar_one()
        names = list(conn.execute(text("SELECT name FROM clients ORDER BY random() LIMIT 500")).scalars())
        sizes = conn.execute(text("SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM interactions)")).one()
    engine.dispose()
    rng = random.Random(1)
    commands = _commands(names, rng)
    fake = FakeSlack(users={"UYOU": {"tz": "Europe/London"}})
    env = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}  # serve's default: one per core
    env.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET, DATABASE_URL=url,
               SLACK_API_URL=fake.api_url, RAPPORT_SCHEDULER="off")
    log = Path("/tmp/rapport-answers-bench-access.log")
    port = _port()
    server = subprocess.Popen([RAPPORT, "serve"], env={**env, "PORT": str(port)}, stdout=log.open("w"),
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        _wait(base, server)
        _closed(base, fake, commands, 4, 60, team)  # warm up every process's connections and caches
        loads = [("a name and the name mistyped, by turns", 1,
                  lambda: _closed(base, fake, _typos(names), 1, 300, team)),
                 ("back to back", 1, lambda: _closed(base, fake, commands, 1, 300, team)),
                 ("back to back", 10, lambda: _closed(base, fake, commands, 10, 1000, team)),
                 ("Poisson, one every 2 s each", 50,
                  lambda: _poisson(base, fake, commands, 50, args.seconds, team, rng))]
        for load, senders, run in loads:
            mark = _served_count(log)
            results = run()
            time.sleep(1)  # the access log is written after the answer is sent
            row = _row(load, senders, results, _served_times(log, mark))
            print(row, flush=True)
            rows.append(row)
            fake.calls.clear()
    finally:
        server.terminate()
        server.wait(timeout=30)
        fake.close()
    _write(rows, sizes, make_url(normalize_url(url)).get_backend_name(), args.title, args.note)
    return 0


def _write(rows: list[dict], sizes, backend: str, title: str, note: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    single = next(r["p99"] for r in rows if r["load"] == "back to back" and r["senders"] == 1)
    heading = f"The answer a person waits for (issue 32{': ' + title if title else ''})"
    lines = [f"\n## {heading} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, {backend}", "",
             f"`python bench/answers.py`: {backend}, {sizes[0]:,} clients and {sizes[1]:,} interactions (seed-demo). "
             f"`rapport serve` as deployed: gunicorn with WEB_CONCURRENCY unset, so {os.cpu_count()} web processes "
             f"(8 threads each; answer threads: {os.environ.get('RAPPORT_COMMAND_WORKERS', 'the default')}), the "
             "scheduler off. A mix of status, log and list (current, quiet, mine, at-risk) "
             "commands; *answer* is from sending the command to its reply arriving on response_url at a fake Slack; "
             "*ack* is gunicorn's own request time for the acknowledgement (access log `%(D)s`)."
             + (f" {note}" if note else ""), "",
             "| load | senders | commands | never answered | answer p50 | answer p99 | target | holds | ack p50 | "
             "ack p99 (≤ 100 ms) | p50 / p99 by command |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "mistyped" in r["load"]:
            found, typo = r["kinds"]["status"][0], r["kinds"]["status, mistyped"][0]
            target = f"mistyped p50 ≤ 2× found: {typo:.0f} / {found:.0f} = {typo / found:.2f}×"
            holds = typo <= 2 * found
        elif r["senders"] == 10:
            target, holds = f"≤ {ANSWER_TARGET_MS:.0f} ms", r["p99"] <= ANSWER_TARGET_MS
        elif r["senders"] == 50:
            target, holds = f"≤ 2× {single:.0f} ms", r["p99"] <= POISSON_FACTOR * single
        else:
            target, holds = "baseline", True
        kinds = "; ".join(f"{k} {a:.0f}/{b:.0f}" for k, (a, b, _) in r["kinds"].items())
        lines.append(f"| {r['load']} | {r['senders']} | {r['n']} | {r['lost']} | {r['p50']:.0f} ms | "
                     f"{r['p99']:.0f} ms | {target} | {'yes' if holds else '**no**'} | {r['ack_p50']:.1f} ms | "
                     f"{r['ack_p99']:.1f} ms | {kinds} |")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
