"""The first real sweep over a neglected portfolio (PRODUCT.md §7, issue 15), while people keep logging touches.

    python bench/sweep_plan.py --first-sweep                      # 20,000 and 100,000 clients, SQLite and PostgreSQL
    python bench/sweep_plan.py --first-sweep --sizes 20000 --backends sqlite

For each size: seed-demo's year of history into a fresh database (most clients due, nothing planned yet), a
`rapport serve` without scheduler answering signed `/client log` commands from one sender, one at a time,
for as long as the sweep runs, and the sweep itself in a process of its own: plan everything due, focus
choosing the day's cards (the digest falls due too), delivery to a fake Slack. Recorded: the sweep's time,
nudges planned per second, its peak memory (ru_maxrss), its longest database transaction, and each command's
answer time and whether it was written. Budget: peak memory < 200 MB; no transaction much over a second;
every command answered and written within a few seconds.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, event, text  # noqa: E402

from storage.db import normalize_url  # noqa: E402
from tests.conftest import sign  # noqa: E402
from tests.fake_slack import FakeSlack  # noqa: E402

RAPPORT = str(Path(sys.executable).with_name("rapport"))
SECRET = "bench-secret"
ALL_WEEK = "mon-sun 00:00-24:00"


def measure(url: str, api_url: str) -> dict[str, float]:
    """One real sweep, in this process, as the scheduler would run it now; the digest falls due too."""
    from bot.database import open_database
    from bot.nudges.sweep import delivery_client, sweep
    from bot.settings import Settings, parse_business_hours
    from storage.workspaces import all_workspaces

    now = datetime.now(UTC)
    settings = Settings(database_url=url, slack_bot_token="xoxb-bench", slack_api_url=api_url,
                        business_hours=parse_business_hours(ALL_WEEK), digest=(now.weekday(), clock_time(0, 0)))
    database = open_database(settings, migrate_sqlite=False)
    longest, opened = [0.0], {}

    @event.listens_for(database.engine, "begin")
    def began(conn) -> None:  # type: ignore[no-untyped-def]
        opened[id(conn)] = time.perf_counter()

    def ended(conn) -> None:  # type: ignore[no-untyped-def]
        if id(conn) in opened:
            longest[0] = max(longest[0], time.perf_counter() - opened.pop(id(conn)))

    event.listen(database.engine, "commit", ended)
    event.listen(database.engine, "rollback", ended)
    with database.sessions() as session:
        workspaces = len(all_workspaces(session))
    started = time.perf_counter()
    report = sweep(database, settings, delivery_client(settings), now)
    elapsed = time.perf_counter() - started
    database.engine.dispose()
    planned = sum(report.planned.planned.values())
    return {"seconds": elapsed, "planned": planned, "per_second": planned / elapsed, "workspaces": workspaces,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "longest_tx_s": longest[0],
            "posted": report.delivery.posted if report.delivery else 0, "summary": report.summary()}


class Logger(threading.Thread):
    """One person logging touches, one command at a time, for as long as the sweep runs."""

    def __init__(self, base: str, fake: FakeSlack, team: str, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.fake, self.team, self.names = base, fake, team, names
        self.done = threading.Event()
        self.answers: list[float] = []
        self.refused: list[str] = []

    def run(self) -> None:
        index = 0
        while not self.done.is_set():
            name = self.names[index % len(self.names)]
            index += 1
            tag = f"response/{uuid.uuid4().hex}"
            body = urlencode({"team_id": self.team, "user_id": "UYOU", "command": "/client",
                              "text": f"log {name} call : first-sweep bench", "response_url": f"{self.fake.url}/{tag}",
                              "trigger_id": "t"})
            request = urllib.request.Request(self.base + "/slack/events", data=body.encode(), method="POST",
                                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                                      **sign(body, secret=SECRET)})
            start = time.perf_counter()
            try:
                urllib.request.urlopen(request, timeout=10).read()
            except (urllib.error.URLError, OSError) as exc:
                self.refused.append(f"not acknowledged: {exc}")
                continue
            if not self.fake.wait_until(lambda tag=tag: tag in self.fake.arrived, 60):
                self.refused.append("no answer within 60 s")
                continue
            self.answers.append(self.fake.arrived[tag] - start)
            said = self.fake.called(tag)[0].params.get("text", "")
            if not str(said).startswith("Logged"):
                self.refused.append(str(said)[:120])
            self.done.wait(0.25)


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_size(url: str, clients: int) -> dict[str, object]:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([RAPPORT, "migrate"], check=True, env=env, capture_output=True)
    seeded = time.perf_counter()
    subprocess.run([RAPPORT, "seed-demo", "--clients", str(clients), "--team", "TBENCH"], check=True, env=env,
                   capture_output=True)
    seed_s = time.perf_counter() - seeded
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        names = list(conn.execute(text("SELECT name FROM clients ORDER BY id LIMIT 300")).scalars())
        interactions = conn.execute(text("SELECT count(*) FROM interactions")).scalar_one()
    fake = FakeSlack(users={"UYOU": {"tz": "Europe/London"}})
    port = _port()
    serve = subprocess.Popen([RAPPORT, "serve"], env={**env, "SLACK_BOT_TOKEN": "xoxb-bench",
                                                      "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
                                                      "RAPPORT_SCHEDULER": "off", "PORT": str(port)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).read()
            break
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    logger = Logger(base, fake, "TBENCH", names)
    logger.start()
    time.sleep(2)  # a few answers before the sweep starts, as a baseline
    try:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "sweep_plan.py"), "--measure-sweep", url,
                              fake.api_url], capture_output=True, text=True, check=True, timeout=3600)
    finally:
        logger.done.set()
        logger.join(timeout=90)
        serve.terminate()
        serve.wait(timeout=30)
        fake.close()
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    with engine.connect() as conn:
        written = conn.execute(text("SELECT count(*) FROM interactions WHERE note = 'first-sweep bench'")).scalar_one()
    engine.dispose()
    answers = sorted(logger.answers)
    figures.update(clients=clients, interactions=interactions, seed_s=seed_s, commands=len(answers) + len(
        logger.refused), written=written, refused=logger.refused[:3], refused_count=len(logger.refused),
        answer_p50=statistics.median(answers) if answers else 0.0,
        answer_p99=answers[min(len(answers) - 1, int(0.99 * len(answers)))] if answers else 0.0,
        answer_max=max(answers, default=0.0))
    return figures


def write(results: list[dict[str, object]], label: str) -> None:
    import platform

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [f"\n## The first sweep over a neglected portfolio (issue 15, {label}) — {datetime.now(UTC):%Y-%m-%d}, "
             f"{platform.node()}: {machine}, Python {platform.python_version()}", "",
             "`python bench/sweep_plan.py --first-sweep`: seed-demo history, then one real sweep (plan, focus, "
             "digest, delivery to a fake Slack) while one person logs a touch every quarter second or so with "
             "`/client log` on a `rapport serve` on the same database.", "",
             "| database | clients | interactions | planned | sweep | nudges planned / s | peak memory | longest "
             "transaction | /client log during it: answered p50 / p99 / max | written / sent |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['clients']:,} | {r['interactions']:,} | {r['planned']:,} | {r['seconds']:.1f} s | "
            f"{r['per_second']:,.0f} | {r['peak_mb']:.0f} MB | {r['longest_tx_s']:.2f} s | "
            f"{r['answer_p50'] * 1000:.0f} / {r['answer_p99'] * 1000:.0f} / {r['answer_max'] * 1000:.0f} ms | "
            f"{r['written']} / {r['commands']} |")
    lines += ["", "Budget (PRODUCT.md §7): peak memory < 200 MB whatever the number due; no lock held more than about "
              "a second; a `/client log` sent during any sweep answered, written, within 3 s."]
    with (ROOT / "bench" / "RESULTS.md").open("a") as out:
        out.write("\n".join(lines) + "\n")
