"""Acknowledgement latency of /client status and /client log (PRODUCT.md §7), against a bare Bolt app.

    python bench/ack_latency.py [--database sqlite:///path.db]   # default: seeds 100,000 clients first

Both apps run under gunicorn with the same settings (one gthread worker, 8 threads) on loopback; a fake
Slack Web API answers auth.test and users.info. Signed slash commands are sent by 1, 10 and 50 concurrent
senders; the client-side latency of each acknowledgement is recorded. Budget: p99 ≤ 100 ms and within
1.5× of the bare app. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, text  # noqa: E402

from storage.db import normalize_url  # noqa: E402
from tests.conftest import sign  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

SECRET = "bench-secret"
RAPPORT = str(Path(sys.executable).with_name("rapport"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SENDERS = (1, 10, 50)
REQUESTS = {1: 200, 10: 600, 50: 1000}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.returncode}")
        try:
            urllib.request.urlopen(base + "/slack/events", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered: it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit("server did not start")


def _send(base: str, text_: str, team: str) -> float | None:
    """Seconds to the acknowledgement, or None when there was none in time (Bolt answers 404 after 3 s)."""
    body = urlencode({"team_id": team, "user_id": "UYOU", "command": "/client", "text": text_,
                      "response_url": "http://127.0.0.1:9/r", "trigger_id": "t"})
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()
    except urllib.error.HTTPError:
        return None
    return time.perf_counter() - start


def _load(base: str, commands: list[str], senders: int, team: str) -> tuple[list[float], int]:
    count = REQUESTS[senders]
    with ThreadPoolExecutor(senders) as pool:
        results = list(pool.map(lambda i: _send(base, commands[i % len(commands)], team), range(count)))
    return [r for r in results if r is not None], sum(r is None for r in results)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    parser.add_argument("--clients", type=int, default=100_000)
    args = parser.parse_args()
    url = args.database
    if url is None:
        path = Path("/tmp/rapport-ack-bench.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        subprocess.run([RAPPORT, "seed-demo", "--clients", str(args.clients), "--team", "TBENCH"], check=True,
                       env={**os.environ, "DATABASE_URL": url})
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        team = conn.execute(text("SELECT team_id FROM workspaces ORDER BY id LIMIT 1")).scalar_one()
        names = list(conn.execute(text("SELECT name FROM clients ORDER BY random() LIMIT 500")).scalars())
        sizes = conn.execute(text("SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM interactions)")).one()
    engine.dispose()
    fake = FakeSlack(users={"UYOU": {"tz": "Europe/London"}})
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "DATABASE_URL": url,
           "SLACK_API_URL": fake.api_url, "RAPPORT_SCHEDULER": "off"}
    rng = random.Random(1)
    workloads = {"status": [f"status {n}" for n in names],
                 "log": [f"log {n} {rng.choice(('call', 'email to', 'meeting from'))}" for n in names]}
    rows = []
    servers = {}
    try:
        port = _port()
        servers["bare"] = (subprocess.Popen([GUNICORN, "-k", "gthread", "-w", "1", "--threads", "8", "-b",
                                             f"127.0.0.1:{port}", "--chdir", str(ROOT / "bench"), "bare_app:wsgi"],
                                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                           f"http://127.0.0.1:{port}")
        port = _port()
        servers["rapport"] = (subprocess.Popen([RAPPORT, "serve"], env={**env, "PORT": str(port)},
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                              f"http://127.0.0.1:{port}")
        for process, base in servers.values():
            _wait(base, process)
        for senders in SENDERS:
            bare, _ = _load(servers["bare"][1], workloads["status"], senders, team)
            for name, commands in workloads.items():
                _load(servers["rapport"][1], commands[:20], senders, team)  # warm up connections and caches
                measured, missed = _load(servers["rapport"][1], commands, senders, team)
                row = {"command": name, "senders": senders, "p50": _pct(measured, 0.50), "p99": _pct(measured, 0.99),
                       "bare_p50": _pct(bare, 0.50), "bare_p99": _pct(bare, 0.99), "n": len(measured) + missed,
                       "missed": missed}
                print(row, flush=True)
                rows.append(row)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
        fake.close()
    _write(rows, sizes)
    return 0


def _write(rows: list[dict], sizes) -> None:  # type: ignore[no-untyped-def, type-arg]
    lines = [f"\n## Acknowledgement latency (issue 6) — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}: "
             f"{os.cpu_count()} cores, Python {platform.python_version()}", "",
             f"SQLite, {sizes[0]:,} clients and {sizes[1]:,} interactions (seed-demo). Both apps under gunicorn "
             "(1 gthread worker, 8 threads) on loopback; latency seen by the sender, signed requests. "
             "Read-only commands (status, list, help) run without taking SQLite's write lock.", "",
             "| command | senders | requests | not acked within 3 s | Rapport p50 | Rapport p99 | bare Bolt p50 "
             "| bare Bolt p99 | p99 ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| /client {r['command']} | {r['senders']} | {r['n']} | {r['missed']} | {r['p50']:.1f} ms | "
                     f"{r['p99']:.1f} ms | {r['bare_p50']:.1f} ms | {r['bare_p99']:.1f} ms | "
                     f"{r['p99'] / r['bare_p99']:.2f}x |")
    lines.append("")
    lines.append("Budget (PRODUCT.md §7): p99 ≤ 100 ms and within 1.5× of the bare app's acknowledgement.")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
