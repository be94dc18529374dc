"""Capture from email (PRODUCT.md §7 *Mail*): a webhook answered within 1 s p99 at 20 messages a second, and
`rapport import-mail` of a 100,000-message mbox within 5 minutes and under 200 MB, on SQLite and PostgreSQL.

    python bench/mail.py                               # both databases, appends to bench/RESULTS.md
    python bench/mail.py --database sqlite --messages 20000 --seconds 30 --no-write

The webhook runs against `rapport serve` as a real process (gunicorn, the scheduler off), posting one raw message
(`/mail/mime/<key>`) every 50 ms for `--seconds`, each a new message from or to one of 1,000 clients' domains; latency
is what the sender sees. The import runs `rapport import-mail` as a process on a generated mbox (a quarter of its
messages from clients, a quarter ours to clients, the rest lists, internal mail and strangers), and reads its peak
memory with GNU time (`/usr/bin/time -f %M`).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from sqlalchemy import create_engine, text  # noqa: E402

from bot.database import open_database  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import normalize_url  # noqa: E402
from storage.mail import add_client_domain, set_key, set_our_domains  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Client, Workspace  # noqa: E402

RAPPORT = str(Path(sys.executable).with_name("rapport"))
PG = os.environ.get("RAPPORT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
KEY = "benchkey" + "0" * 16
CLIENTS = 1000
OURS = "ana@agency.example"


def _message(i: int, at: datetime) -> EmailMessage:
    client = f"c{i % CLIENTS}.example"
    kind = i % 8
    mail = EmailMessage()
    if kind in (0, 1):
        mail["From"], mail["To"] = f"jane@{client}", OURS
    elif kind in (2, 3):
        mail["From"], mail["To"] = OURS, f"jane@{client}"
    elif kind in (4, 5):
        mail["From"], mail["To"], mail["List-Id"] = "news@lists.example", OURS, "<news.lists.example>"
    elif kind == 6:
        mail["From"], mail["To"] = OURS, "kim@agency.example"
    else:
        mail["From"], mail["To"] = f"someone{i}@stranger.example", OURS
    mail["Subject"] = f"Message {i}"
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = f"<bench-{i}@agency.example>"
    mail.set_content("A few lines of text, as most mail has.\n" * 5)
    return mail


def _database(kind: str, where: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{where / 'mail.db'}"
    schema = f"bench_mail_{os.getpid()}"
    admin = create_engine(normalize_url(PG))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


def _seed(url: str) -> None:
    upgrade(url)
    database = open_database(Settings(database_url=url))
    now = datetime.now(UTC)
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="TBENCH", enterprise_id="", created_at=now)
        session.add(workspace)
        session.flush()
        clients = [Client(workspace_id=workspace.id, name=f"Client {i}", name_key=f"client {i}", owner_id="UANA",
                          created_at=now, created_by="UANA") for i in range(CLIENTS)]
        session.add_all(clients)
        session.flush()
        for i, client in enumerate(clients):
            add_client_domain(session, workspace.id, client.id, f"c{i}.example", "UANA", now)
        set_our_domains(session, workspace.id, ["agency.example"], "UANA", now)
        set_key(session, workspace.id, KEY, "UANA", now)
    database.engine.dispose()


def webhook(url: str, seconds: int, where: Path) -> dict[str, float]:
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench",
           "PORT": str(port), "RAPPORT_SCHEDULER": "off", "RAPPORT_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([RAPPORT, "serve"], cwd=where, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        start = time.monotonic()
        total = seconds * 20
        now = datetime.now(UTC)

        def send(i: int) -> None:
            body = bytes(_message(10_000_000 + i, now - timedelta(minutes=i % 600)))
            request = urllib.request.Request(f"{base}/mail/mime/{KEY}", data=body, method="POST",
                                             headers={"Content-Type": "message/rfc822"})
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            with lock:
                latencies.append(time.monotonic() - sent)
                statuses.append(status)

        threads = []
        for i in range(total):  # paced: one every 50 ms, whatever the answers take
            time.sleep(max(0.0, start + i * 0.05 - time.monotonic()))
            thread = threading.Thread(target=send, args=(i,))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        latencies.sort()
        return {"sent": total, "ok": sum(1 for s in statuses if s == 200),
                "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99) - 1],
                "max": latencies[-1]}
    finally:
        server.terminate()
        server.wait(timeout=30)


def import_mail(url: str, messages: int, where: Path) -> dict[str, float]:
    path = where / "big.mbox"
    start = datetime(2025, 12, 1, tzinfo=UTC)
    with path.open("wb") as out:  # written as mbox is (mailbox.mbox.add rereads its table: minutes for 100,000)
        for i in range(messages):
            body = bytes(_message(i, start + timedelta(minutes=5 * i))).replace(b"\nFrom ", b"\n>From ")
            out.write(b"From bench@agency.example Mon Dec  1 00:00:00 2025\n" + body.rstrip(b"\n") + b"\n\n")
    env = {**os.environ, "DATABASE_URL": url}
    began = time.monotonic()
    # GNU time reports this one process's peak resident memory (KB) on the last line of its standard error
    done = subprocess.run(["/usr/bin/time", "-f", "%M", RAPPORT, "import-mail", str(path), "--team", "TBENCH"],
                          cwd=where, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak = int(done.stderr.strip().splitlines()[-1])
    again = subprocess.run([RAPPORT, "import-mail", str(path), "--team", "TBENCH"], cwd=where, env=env,
                           capture_output=True, text=True, timeout=3600)
    return {"seconds": seconds, "peak_mb": peak / 1024, "mbox_mb": path.stat().st_size / 1e6,
            "report": done.stdout.strip().splitlines()[-1], "again": again.stdout.strip().splitlines()[-1]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--webhook-only", action="store_true", help="measure the webhook alone")
    args = parser.parse_args()
    rows = []
    for kind in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        where = Path(tempfile.mkdtemp())
        url = _database(kind, where)
        _seed(url)
        imported = import_mail(url, args.messages, where) if not args.webhook_only else \
            {"seconds": 0.0, "peak_mb": 0.0, "mbox_mb": 0.0, "report": "—", "again": "—"}
        print(kind, "import", imported, flush=True)
        hook = webhook(url, args.seconds, where)
        print(kind, "webhook", hook, flush=True)
        rows.append((kind, hook, imported))
    load = os.getloadavg()
    lines = [f"\n## Capture from email (issue 31) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, load average {load[0]:.1f} (shared)\n",
             f"{CLIENTS:,} clients with a domain each. Webhook: `rapport serve` (gunicorn, scheduler off), one raw "
             f"message posted every 50 ms for {args.seconds} s, latency as the sender sees it. Import: "
             f"`rapport import-mail` of a generated {args.messages:,}-message mbox, peak memory of the process.\n",
             "| database | webhook sent | 200s | p50 | p99 (≤ 1 s) | max | import | mbox | import time (≤ 5 min) "
             "| peak memory (≤ 200 MB) | second run |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, hook, imported in rows:
        lines.append(f"| {kind} | {hook['sent']:.0f} | {hook['ok']:.0f} | {hook['p50'] * 1000:.0f} ms | "
                     f"{hook['p99'] * 1000:.0f} ms | {hook['max'] * 1000:.0f} ms | {imported['report']} | "
                     f"{imported['mbox_mb']:.0f} MB | {imported['seconds']:.0f} s | {imported['peak_mb']:.0f} MB | "
                     f"{imported['again']} |")
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if not args.no_write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(text_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
