"""Acknowledgement latency of /client status and /client log (PRODUCT.md §7), against a bare Bolt app.

    python bench/ack_latency.py                                  # seeds 100,000 clients into a fresh SQLite file
    python bench/ack_latency.py --database postgresql://127.0.0.1/rapport_bench   # seeds that database
    python bench/ack_latency.py [--database URL] --reuse           # an already seeded database

Both apps run under gunicorn with the same settings (one gthread worker, 8 threads) on loopback; a fake
Slack Web API answers auth.test and users.info and receives Rapport's answers on response_url. Signed slash
commands are sent by 1, 10 and 50 concurrent senders, each waiting for its answer before the next command.
Recorded: gunicorn's own request time from its access log (server-side, the budget's measure), the latency
the sender saw, and the time to the answer. Budget: server-side p99 ≤ 100 ms and within 1.5× of the bare
app. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from bot.server.serve import ACCESS_LOG_FORMAT  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from tests.conftest import sign  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

SECRET = "bench-secret"
RAPPORT = str(Path(sys.executable).with_name("rapport"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SENDERS = (1, 10, 50)
REQUESTS = {1: 500, 10: 1000, 50: 1500}


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


def _send(base: str, fake: FakeSlack | None, text_: str, team: str) -> tuple[float | None, float | None]:
    """Seconds to the acknowledgement (None when there was none in time: Bolt answers 404 after 3 s) and, for
    Rapport, to the answer through response_url. A sender waits for the answer before its next command, as a
    person would, so N senders keep at most N commands in flight."""
    tag = f"response/{uuid.uuid4().hex}"
    url = f"{fake.url}/{tag}" if fake else "http://127.0.0.1:9/r"
    body = urlencode({"team_id": team, "user_id": "UYOU", "command": "/client", "text": text_,
                      "response_url": url, "trigger_id": "t"})
    request = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()
    except urllib.error.HTTPError:
        return None, None
    acked = time.perf_counter() - start
    if fake is None:
        return acked, None
    if not fake.wait_until(lambda: tag in fake.arrived, 30):
        return acked, None
    return acked, fake.arrived[tag] - start


def _load(base: str, fake: FakeSlack | None, commands: list[str], senders: int,
          team: str) -> tuple[list[float], int, list[float], int]:
    """Acknowledgement times, how many were not acknowledged in time, answer times, how many never came."""
    count = REQUESTS[senders]
    with ThreadPoolExecutor(senders) as pool:
        results = list(pool.map(lambda i: _send(base, fake, commands[i % len(commands)], team), range(count)))
    acks = [a for a, _ in results if a is not None]
    answers = [t for _, t in results if t is not None]
    return acks, count - len(acks), answers, (count - len(answers)) if fake else 0


EVENTS_PATH = "/slack/events?burst"  # the same endpoint; the query only tells the access log's lines apart


def _served_times(log: Path, skip: int, path: str = "/slack/events") -> list[float]:
    """Server-side seconds of each signed POST to `path` answered after the first `skip`, from gunicorn's access
    log. Commands and the message events sent meanwhile are told apart by the events' query string."""
    times = [int(m.group(1)) / 1e6 for line in log.read_text().splitlines()
             if f"POST {path} " in line and (m := re.search(r" (\d+)us$", line))]
    return times[skip:]


def _served_count(log: Path, path: str = "/slack/events") -> int:
    return len(_served_times(log, 0, path)) if log.exists() else 0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="the database is already seeded: skip seed-demo")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--with-scheduler", action="store_true",
                        help="serve's scheduler plans the seeded backlog (a first sweep) while the load runs")
    parser.add_argument("--with-events", action="store_true",
                        help="50 message events a second from 20 linked channels while commands are measured")
    args = parser.parse_args()
    url = args.database
    if url is None:
        path = Path("/tmp/rapport-ack-bench.db")
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    run_env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([RAPPORT, "migrate"], check=True, env=run_env)  # a reused database may predate the schema
    if not args.reuse:
        subprocess.run([RAPPORT, "seed-demo", "--clients", str(args.clients), "--team", "TBENCH"], check=True,
                       env=run_env)
    engine = create_engine(normalize_url(url))
    if args.with_events:
        _link_channels(engine)
    with engine.connect() as conn:
        team = conn.execute(text("SELECT team_id FROM workspaces ORDER BY id LIMIT 1")).scalar_one()
        names = list(conn.execute(text("SELECT name FROM clients ORDER BY random() LIMIT 500")).scalars())
        sizes = conn.execute(text("SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM interactions)")).one()
    engine.dispose()
    fake = FakeSlack(users={"UYOU": {"tz": "Europe/London"}})
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "DATABASE_URL": url,
           "SLACK_API_URL": fake.api_url, "RAPPORT_SCHEDULER": "off"}
    senders_list = SENDERS
    if args.with_events:
        senders_list = (1, 10)
    if args.with_scheduler:  # the first tick at start-up plans the whole backlog, and the digest falls due too
        today = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.now(UTC).weekday()]
        env.update(RAPPORT_SCHEDULER="on", RAPPORT_BUSINESS_HOURS="mon-sun 00:00-24:00",
                   RAPPORT_DIGEST=f"{today} 00:00")
        senders_list = (10,)
    rng = random.Random(1)
    workloads = {"status": [f"status {n}" for n in names],
                 "log": [f"log {n} {rng.choice(('call', 'email to', 'meeting from'))}" for n in names]}
    rows = []
    servers = {}
    logs = {name: Path(f"/tmp/rapport-bench-{name}-access.log") for name in ("bare", "rapport")}
    try:
        port = _port()
        servers["bare"] = (subprocess.Popen([GUNICORN, "-k", "gthread", "-w", "1", "--threads", "8", "-b",
                                             f"127.0.0.1:{port}", "--chdir", str(ROOT / "bench"),
                                             "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT,
                                             "bare_app:wsgi"],
                                            env=env, stdout=logs["bare"].open("w"), stderr=subprocess.DEVNULL),
                           f"http://127.0.0.1:{port}")
        port = _port()
        servers["rapport"] = (subprocess.Popen([RAPPORT, "serve"], env={**env, "PORT": str(port)},
                                               stdout=logs["rapport"].open("w"), stderr=subprocess.DEVNULL),
                              f"http://127.0.0.1:{port}")
        for process, base in servers.values():
            _wait(base, process)
        swept_before = _last_sweep(url)
        for senders in senders_list:
            for name, commands in workloads.items():
                _load(servers["rapport"][1], fake, commands[:20], senders, team)  # warm up connections and caches
                mark = {k: _served_count(v) for k, v in logs.items()}
                marked = {k: _served_count(v, EVENTS_PATH) for k, v in logs.items()}
                with Events(servers["bare"][1], team, args.with_events) as bare_events:
                    bare, _, _, _ = _load(servers["bare"][1], None, commands, senders, team)
                rows_before = _captured(url) if args.with_events else 0
                with Events(servers["rapport"][1], team, args.with_events) as events:
                    measured, missed, answers, lost = _load(servers["rapport"][1], fake, commands, senders, team)
                server_bare = _served_times(logs["bare"], mark["bare"])
                server_rapport = _served_times(logs["rapport"], mark["rapport"])
                row = {"command": name, "senders": senders, "p50": _pct(measured, 0.50), "p99": _pct(measured, 0.99),
                       "bare_p50": _pct(bare, 0.50), "bare_p99": _pct(bare, 0.99), "n": len(measured) + missed,
                       "missed": missed, "answer_p50": _pct(answers, 0.50), "answer_p99": _pct(answers, 0.99),
                       "lost": lost, "server_p50": _pct(server_rapport, 0.50), "server_p99": _pct(server_rapport, 0.99),
                       "server_bare_p50": _pct(server_bare, 0.50), "server_bare_p99": _pct(server_bare, 0.99)}
                row["during_sweep"] = _last_sweep(url) == swept_before  # the first sweep had not finished yet
                if args.with_events:
                    event_server = _served_times(logs["rapport"], marked["rapport"], EVENTS_PATH)
                    bare_event_server = _served_times(logs["bare"], marked["bare"], EVENTS_PATH)
                    time.sleep(2)  # let the last events' listeners finish writing before counting rows
                    row.update(events=len(events.acks), events_missed=events.missed,
                               event_p50=_pct(events.acks, 0.50), event_p99=_pct(events.acks, 0.99),
                               bare_event_p50=_pct(bare_events.acks, 0.50),
                               bare_event_p99=_pct(bare_events.acks, 0.99),
                               event_server_p50=_pct(event_server, 0.50), event_server_p99=_pct(event_server, 0.99),
                               bare_event_server_p50=_pct(bare_event_server, 0.50),
                               bare_event_server_p99=_pct(bare_event_server, 0.99),
                               rows_per_event=(_captured(url) - rows_before) / max(1, len(events.acks)))
                print(row, flush=True)
                rows.append(row)
                fake.calls.clear()
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
        fake.close()
    _write(rows, sizes, make_url(normalize_url(url)).get_backend_name(), args.with_scheduler, args.with_events)
    return 0


CHANNELS = [f"CBENCH{i:02d}" for i in range(20)]


def _link_channels(engine) -> None:  # type: ignore[no-untyped-def]
    """Twenty clients' Slack Connect channels, linked (as /client link would)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM linked_channels"))
        conn.execute(text("DELETE FROM interactions WHERE source = 'slack'"))  # a run's touches are its own
        workspace, owner = conn.execute(text("SELECT workspace_id, owner_id FROM clients ORDER BY id LIMIT 1")).one()
        ids = list(conn.execute(text("SELECT id FROM clients WHERE status = 'active' ORDER BY id LIMIT 20")).scalars())
        for client_id, channel in zip(ids, CHANNELS, strict=True):
            conn.execute(text("INSERT INTO linked_channels (workspace_id, client_id, channel_id, shared, linked_by, "
                              "linked_at) VALUES (:w, :c, :ch, :s, :o, :at)"),
                         {"w": workspace, "c": client_id, "ch": channel, "s": True, "o": owner,
                          "at": datetime.now(UTC).replace(tzinfo=None) if engine.dialect.name == "sqlite"
                          else datetime.now(UTC)})


def _captured(url: str) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM interactions WHERE source = 'slack'")).scalar_one()
    finally:
        engine.dispose()


class Events(threading.Thread):
    """A burst of message events, 50 a second round the 20 linked channels, theirs and ours by turns, for as long
    as the block runs; each event's acknowledgement time as its sender saw it."""

    RATE = 50

    def __init__(self, base: str, team: str, enabled: bool) -> None:
        super().__init__(daemon=True)
        self.base, self.team, self.enabled = base, team, enabled
        self.stop = threading.Event()
        self.acks: list[float] = []
        self.missed = 0

    def __enter__(self) -> Events:
        if self.enabled:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.enabled:
            self.join(timeout=30)

    def run(self) -> None:
        count = 0
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            while not self.stop.is_set():
                count += 1
                pool.submit(self._send, count)
                # pacing a load generator, not timing a test: one event every 20 ms
                self.stop.wait(max(0.0, started + count / self.RATE - time.perf_counter()))

    def _send(self, n: int) -> None:
        theirs = n % 2 == 0
        body = json.dumps({
            "type": "event_callback", "team_id": self.team, "api_app_id": "A1", "event_id": f"Ev{uuid.uuid4().hex}",
            "event_time": int(time.time()), "is_ext_shared_channel": True,
            "authorizations": [{"team_id": self.team, "user_id": "UBOT", "is_bot": True}],
            "event": {"type": "message", "channel": CHANNELS[n % len(CHANNELS)], "user": "UJANE" if theirs else "UYOU",
                      "user_team": "TACME" if theirs else self.team, "ts": f"{time.time():.6f}",
                      "text": "a message whose words Rapport never keeps"}})
        request = urllib.request.Request(self.base + EVENTS_PATH, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json", **sign(body, secret=SECRET)})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                reply.read()
            self.acks.append(time.perf_counter() - start)
        except (urllib.error.URLError, OSError):
            self.missed += 1


def _last_sweep(url: str) -> object:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT at FROM markers WHERE name = 'sweep'")).scalar()
    finally:
        engine.dispose()


def _write(rows: list[dict], sizes, backend: str, with_scheduler: bool,  # type: ignore[no-untyped-def, type-arg]
           with_events: bool = False) -> None:
    title = "serve's scheduler planning the first sweep (issue 15)" if with_scheduler else \
        "with 50 message events a second from linked channels (issue 13)" if with_events else "issue 6"
    lines = [f"\n## Acknowledgement latency ({title}) — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}: "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, {backend}", "",
             *(["`python bench/ack_latency.py --with-scheduler`: the database freshly seeded, nothing planned; "
                "`rapport serve` with its scheduler on plans the whole backlog (and a digest) at start-up while "
                "the load runs. *During the sweep*: whether that first sweep was still running when the row's "
                "load ended.", ""] if with_scheduler else []),
             f"{backend}, {sizes[0]:,} clients and {sizes[1]:,} interactions (seed-demo). Both apps under gunicorn "
             "(1 gthread worker, 8 threads) on loopback, signed requests. *Server* is gunicorn's own request time "
             "(access log `%(D)s`: request read to answer written), the budget's measure; *seen* is what the "
             "sender measured, including its own threads on the same 2 cores. Rapport "
             "acknowledges at once and answers through response_url; *answer* is the time from sending the "
             "command to its answer arriving at the fake Slack. Each sender waits for its answer before sending "
             "its next command, as a person would.", "",
             "| command | senders | requests | not acked in 3 s | Rapport server p50 | Rapport server p99 "
             "| bare server p50 | bare server p99 | server p99 ratio | Rapport seen p99 | bare seen p99 "
             "| answer p50 | answer p99 | never answered |" + (" during the sweep |" if with_scheduler else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if with_scheduler else "")]
    for r in rows:
        lines.append(f"| /client {r['command']} | {r['senders']} | {r['n']} | {r['missed']} | "
                     f"{r['server_p50']:.1f} ms | {r['server_p99']:.1f} ms | {r['server_bare_p50']:.1f} ms | "
                     f"{r['server_bare_p99']:.1f} ms | {r['server_p99'] / r['server_bare_p99']:.2f}x | "
                     f"{r['p99']:.1f} ms | {r['bare_p99']:.1f} ms | {r['answer_p50']:.0f} ms | "
                     f"{r['answer_p99']:.0f} ms | {r['lost']} |" + (f" {'yes' if r['during_sweep'] else 'no'} |"
                                                                     if with_scheduler else ""))
    if with_events:
        lines += ["", "Message events sent meanwhile (`--with-events`): 50 a second round 20 linked Slack Connect "
                  "channels, theirs and ours by turns, Rapport against the bare app receiving the same burst. "
                  "Server-side acknowledgement (gunicorn's request time, as for commands above: the budget's "
                  "measure) and as the sender saw it; rows written: captured touches per event.", "",
                  "| while | senders | events | not acked | Rapport server p50 | Rapport server p99 "
                  "| bare server p50 | bare server p99 | server p99 ratio | Rapport seen p99 | bare seen p99 "
                  "| rows written per event |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| /client {r['command']} | {r['senders']} | {r['events']} | {r['events_missed']} | "
                         f"{r['event_server_p50']:.2f} ms | {r['event_server_p99']:.2f} ms | "
                         f"{r['bare_event_server_p50']:.2f} ms | {r['bare_event_server_p99']:.2f} ms | "
                         f"{r['event_server_p99'] / r['bare_event_server_p99']:.2f}x | {r['event_p99']:.1f} ms | "
                         f"{r['bare_event_p99']:.1f} ms | {r['rows_per_event']:.3f} |")
    lines.append("")
    lines.append("Budget (PRODUCT.md §7): p99 ≤ 100 ms and within 1.5× of the bare app's acknowledgement; a message "
                 "event at most one row." if with_events else
                 "Budget (PRODUCT.md §7): p99 ≤ 100 ms and within 1.5× of the bare app's acknowledgement.")
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
