"""A month in the life of an agency (issue 35): the real `rapport serve`, driven from outside through a simulated
month, its clock moved day by day, its own scheduler running, with faults at random from a seed.

One workspace, four people, a portfolio imported on a Saturday; then each workday: the scheduler's sweeps,
touches logged with `/client log`, clicks on the day's cards (block_actions as Slack sends them), Slack Connect
messages in linked channels (signed Events API requests), and on days the seed picks: a handoff, a forget, a
deploy (SIGTERM and restart) right after a burst of events, a SIGKILL in the middle of delivery, Slack answering
5xx and 429 (and posts whose outcome is unknown) for a while, PostgreSQL unreachable for ~8 seconds mid-delivery
(a TCP proxy the harness cuts; the server itself is never touched). The month ends inside the run. At the end
tests/month_invariants.py checks what must hold.

The clock: every process of `serve` (gunicorn's master, its web workers, the scheduler it starts and restarts)
and this one read the machine's time plus an offset from one file (tests/timeshift/following_clock.py), moved
by `Month.at`. The scheduler sweeps at start-up and then every 15 minutes of its own clock, which the harness
cannot fast-forward without also skewing the monotonic waits it needs; so a tick is what a deploy of the
scheduler does: `tick()` sends it SIGTERM, `serve` restarts it, and it sweeps at once at the moved time.

    tests/test_month.py runs one week; bench/month.py runs the month with a seed and prints the invariants.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.database import Database, open_database
from bot.settings import Settings
from storage.migrate import upgrade
from storage.models import Client, Nudge
from tests.cli import RAPPORT, clean_env
from tests.conftest import SIGNING_SECRET, Clock, RapportServer, Response, sign
from tests.fake_slack import FakeSlack
from tests.tcp_proxy import TcpProxy
from tests.test_capture import message as slack_message
from tests.test_clicks import bolt_python_block_actions
from tests.test_serve import _free_port
from tests.timeshift import following_clock

TIMESHIFT = Path(following_clock.__file__).parent
PEOPLE = ("UANA", "UBEN", "UBOB", "UADMIN")  # UADMIN is also the workspace's admin
EXTERNAL, THEIRS = "UJANE", "TACME"  # the client's person in the Slack Connect channels, and their workspace
NUDGES, SALES = "CNUDGES", "CSALES"  # the default nudge channel, and a channel some clients are routed to
SHARED = tuple(f"CSHARED{n}" for n in range(1, 7))  # Slack Connect channels, each linked to a client
WORDS = ("Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Acme",
         "Cyberdyne", "Soylent")
MONTH_END = date(2027, 3, 31)  # a Wednesday: the run's last two workdays are in April
FOCUS = 5
TICK_RE = re.compile(r"sweep at (\d{4}-\d\d-\d\dT\d\d:\d\d)")


def workdays(count: int) -> list[date]:
    """`count` workdays: all but the last two on or before the month's end, then the first two of the next."""
    assert count >= 3, "the month has to end inside the run"
    before: list[date] = []
    day = MONTH_END
    while len(before) < count - 2:
        if day.weekday() < 5:
            before.insert(0, day)
        day -= timedelta(days=1)
    after: list[date] = []
    day = MONTH_END + timedelta(days=1)
    while len(after) < 2:
        if day.weekday() < 5:
            after.append(day)
        day += timedelta(days=1)
    return before + after


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@dataclass
class Faults:
    """What happens on which workday (indices into the run's workdays)."""

    deploys: list[int]
    sigkill: int
    slack: int
    outage: int | None
    handoff: int
    forget: int
    timeouts: bool  # Slack's timeouts after recording cost ten real seconds each: the long form only

    @classmethod
    def draw(cls, rng: random.Random, days: int, postgres: bool, long: bool) -> Faults:
        pick = list(range(1, days))
        return cls(deploys=sorted(rng.sample(pick, max(1, days // 8))), sigkill=rng.choice(pick),
                   slack=rng.choice(pick), outage=rng.choice(pick) if postgres else None,
                   handoff=rng.choice(pick), forget=rng.choice(pick[:-1] or pick), timeouts=long)

    def on(self, i: int) -> list[str]:
        named = [("deploy", i in self.deploys), ("sigkill", i == self.sigkill), ("slack", i == self.slack),
                 ("outage", i == self.outage), ("handoff", i == self.handoff), ("forget", i == self.forget)]
        return [name for name, yes in named if yes]


@dataclass
class Ledger:
    """What the harness did and was told: the invariants compare it with the database and Slack."""

    owners: dict[str, str] = field(default_factory=dict)  # client name -> owner, as the harness made them
    logged: list[tuple[str, str]] = field(default_factory=list)  # (client, note) each answered "Logged"
    captured: list[tuple[str, str, str, str]] = field(default_factory=list)  # (client, channel, ts, direction) acked
    linked: dict[str, str] = field(default_factory=dict)  # channel -> client
    forgotten: list[str] = field(default_factory=list)
    handed: list[tuple[str, str, str]] = field(default_factory=list)  # (client, from, to)
    in_flight_at_kill: list[int] = field(default_factory=list)  # nudge ids of the post SIGKILL interrupted
    touched_after_kill: list[str] = field(default_factory=list)
    outage_answers: list[tuple[float, str]] = field(default_factory=list)  # (seconds, text) of commands in the outage
    list_checks: list[tuple[str, str, int, int]] = field(default_factory=list)  # (day, which, expected, shown)
    stops: list[float] = field(default_factory=list)  # seconds each SIGTERM took to end serve
    diary: list[str] = field(default_factory=list)
    days: list[date] = field(default_factory=list)


class Serve:
    """`rapport serve` as a process group of its own, its output appended to one log across restarts."""

    def __init__(self, workdir: Path, env: dict[str, str], log: Path) -> None:
        self.workdir, self.env, self.log = workdir, env, log
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, since: datetime | None = None) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([RAPPORT, "serve"], cwd=self.workdir, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rapport serve did not come up:\n" + self.log.read_text()[-3000:]) from None
                time.sleep(0.1)
        if since is not None:
            self.wait_for_sweep(since)  # the scheduler sweeps at start-up

    def stop(self) -> float:
        """A deploy's SIGTERM; how long serve took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return time.monotonic() - started

    def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def scheduler(self) -> int | None:
        assert self.process is not None
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except (OSError, ValueError, IndexError):
                    continue
                if parent == self.process.pid and " worker --parent " in line:
                    return int(entry.name)
        return None

    def sweeps(self) -> list[str]:
        return TICK_RE.findall(self.log.read_text(errors="replace"))

    def wait_for_sweep(self, since: datetime, timeout: float = 120) -> None:
        """Until a sweep as of `since` or later has finished (its summary line is in the log)."""
        floor = since.strftime("%Y-%m-%dT%H:%M")
        deadline = time.monotonic() + timeout
        while not any(s >= floor for s in self.sweeps()):
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError("rapport serve exited:\n" + self.log.read_text()[-3000:])
            if time.monotonic() > deadline:
                raise RuntimeError(f"no sweep as of {floor} within {timeout:.0f} s:\n" + self.log.read_text()[-3000:])
            time.sleep(0.1)

    def tick(self, now: datetime, wait: bool = True) -> None:
        """The scheduler sweeps as of `now`: stopped as a deploy stops it, restarted by serve, it sweeps at once."""
        deadline = time.monotonic() + 60
        while (pid := self.scheduler()) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("serve has no scheduler process")
            time.sleep(0.1)
        os.kill(pid, signal.SIGTERM)
        if wait:
            self.wait_for_sweep(now)


class Month:
    """One run: `Month(...).run()` returns the Ledger; the fake Slack and the database hold the rest."""

    def __init__(self, database_url: str, seed: int, days: int, workdir: Path, *, clients: int = 120,
                 say: Callable[[str], None] = print, web_concurrency: int = 1, ticks: tuple[tuple[int, int], ...]
                 = ((9, 10),)) -> None:
        self.url, self.seed, self.workdir, self.say = database_url, seed, workdir, say
        self.rng = random.Random(seed)
        self.clients = clients
        self.days = workdays(days)
        self.ticks = ticks
        self.postgres = make_url(database_url).get_backend_name().startswith("postgres")
        self.faults = Faults.draw(self.rng, days, self.postgres, long=days > 5)
        self.ledger = Ledger(days=self.days)
        self.clock_file = workdir / "clock"
        self.fake = FakeSlack(users={**{p: {"tz": "UTC", "is_admin": p == "UADMIN", "team_id": "T1"} for p in PEOPLE},
                                     EXTERNAL: {"tz": "UTC", "team_id": THEIRS}},
                              clock=lambda: datetime.now(UTC))
        self.fake.channels.update({NUDGES: {"is_member": True, "is_ext_shared": False},
                                   SALES: {"is_member": True, "is_ext_shared": False},
                                   **{c: {"is_member": True, "is_ext_shared": True} for c in SHARED}})
        self.proxy: TcpProxy | None = None
        self.database: Database | None = None
        self.web_concurrency = web_concurrency
        self.serve: Serve | None = None
        self._notes = 0
        self._began = time.monotonic()
        self._stop_clock: Callable[[], None] = lambda: None

    # --- the clock -------------------------------------------------------------------------------------------

    def move(self, when: datetime) -> datetime:
        following_clock.move(self.clock_file, when)
        return when

    def note(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%a %Y-%m-%d %H:%M") + f" (+{time.monotonic() - self._began:.0f}s)"
        self.ledger.diary.append(f"{stamp}  {line}")
        self.say(f"  {stamp}  {line}")

    # --- talking to serve as Slack does ----------------------------------------------------------------------

    @property
    def slack(self) -> RapportServer:
        assert self.serve is not None and self.database is not None
        return RapportServer(self.serve.base, self.database, self.fake, Clock())

    def command(self, text: str, user: str, timeout: float = 10) -> Response:
        server = self.slack
        path = f"response/{uuid.uuid4().hex[:8]}"
        body = urlencode({"token": "legacy", "team_id": "T1", "team_domain": "agency", "channel_id": NUDGES,
                          "channel_name": "nudges", "user_id": user, "user_name": user.lower(), "command": "/client",
                          "text": text, "response_url": f"{self.fake.url}/{path}", "trigger_id": "t.1"})
        reply = server.post(body, sign(body))
        if reply.status != 200:
            return reply
        if reply.body:
            return reply
        calls = self.fake.wait_for(path, timeout=timeout)
        return Response(200, json.dumps(calls[0].params)) if calls else Response(0, "")

    def log_touch(self, client: str, user: str, kind: str = "call") -> bool:
        self._notes += 1
        note = f"sim note {self._notes}"
        reply = self.command(f"log {client} {kind} : {note}", user)
        if reply.status == 200 and reply.body and "Logged" in reply.text:
            self.ledger.logged.append((client, note))
            return True
        self.note(f"/client log {client}: not logged ({reply.status}: {(reply.text if reply.body else '')[:80]})")
        return False

    # --- the run ---------------------------------------------------------------------------------------------

    def run(self) -> Ledger:
        self.say(f"month: seed {self.seed}, {len(self.days)} workdays {self.days[0]}..{self.days[-1]}, "
                 f"{self.clients} clients, {'PostgreSQL' if self.postgres else 'SQLite'}")
        self.say(f"faults: {self.faults}")
        saturday = self.days[0] - timedelta(days=self.days[0].weekday() + 2)
        self.move(at(saturday, 9, 50))
        travel = following_clock.follow(self.clock_file)  # this process reads the same clock (signatures must agree)
        try:
            self._run(saturday)
        finally:
            travel.stop()
            if self.serve is not None and self.serve.process is not None and self.serve.process.poll() is None:
                self.serve.kill()
            self.fake.close()
            if self.proxy is not None:
                self.proxy.close()
        return self.ledger

    def _environment(self) -> dict[str, str]:
        url = self.url
        if self.postgres:
            upstream = make_url(self.url)
            self.proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
            url = upstream.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        return clean_env(self.workdir, DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-test",
                         SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=self.fake.api_url, PORT=str(_free_port()),
                         WEB_CONCURRENCY=str(self.web_concurrency), RAPPORT_DAILY_FOCUS=str(FOCUS),
                         TEST_CLOCK_FILE=str(self.clock_file), PYTHONPATH=str(TIMESHIFT))

    def _run(self, saturday: date) -> None:
        upgrade(self.url)
        self.database = open_database(Settings(database_url=self.url))
        env = self._environment()
        self.serve = Serve(self.workdir, env, self.workdir / "serve.log")
        self.serve.start(since=at(saturday, 9, 50))
        self._saturday(saturday, env)
        for i, day in enumerate(self.days):
            self._workday(i, day)
        self.move(at(self.days[-1], 17, 30))
        self._list_totals(self.days[-1])
        self.ledger.stops.append(self.serve.stop())
        self.note(f"serve stopped for the checks after {self.ledger.stops[-1]:.1f} s")

    def _saturday(self, saturday: date, env: dict[str, str]) -> None:
        assert self.serve is not None
        self.move(at(saturday, 10))
        answer = self.command(f"channel default <#{NUDGES}|nudges>", "UADMIN")
        self.note(f"default channel: {answer.text[:60] if answer.body else answer.status}")
        rows = ["name,owner,checkin_every,last_contact,channel,status"]
        for n in range(1, self.clients + 1):
            name = f"{WORDS[n % len(WORDS)]} {n:03d}"
            owner = PEOPLE[n % len(PEOPLE)]
            self.ledger.owners[name] = owner
            cadence = self.rng.choice(["", "", "2w", "4w", "6w"])
            last = saturday - timedelta(days=self.rng.randint(3, 80))
            channel = SALES if n % 5 == 0 else ""
            rows.append(f"{name},{owner},{cadence},{last.isoformat()},{channel},active")
        (self.workdir / "clients.csv").write_text("\n".join(rows) + "\n")
        result = subprocess.run([RAPPORT, "import", "clients.csv"], cwd=self.workdir, env=env, capture_output=True,
                                text=True, timeout=120)
        self.note(f"import on a Saturday: {result.stdout.strip().splitlines()[0] if result.stdout else ''} "
                  f"(exit {result.returncode}) {result.stderr.strip()[:200]}")
        assert result.returncode == 0, result.stdout + result.stderr
        names = list(self.ledger.owners)
        for channel, name in zip(SHARED, self.rng.sample(names, len(SHARED)), strict=True):
            reply = self.command(f"link {name} <#{channel}|{channel.lower()}>", self.ledger.owners[name])
            assert reply.body and "Linked" in reply.text, reply.body
            self.ledger.linked[channel] = name
        self.serve.tick(self.move(at(saturday, 10, 30)))
        self.note(f"Saturday sweep: {self.serve.sweeps()[-1]}")

    def _workday(self, i: int, day: date) -> None:
        assert self.serve is not None
        faults = self.faults.on(i)
        self.say(f"{day:%a %Y-%m-%d}" + (f": {', '.join(faults)}" if faults else ""))
        first_tick = at(day, *self.ticks[0])
        if "sigkill" in faults:
            self._sigkill(first_tick)
        elif "slack" in faults:
            self._slack_bad(first_tick)
        elif "outage" in faults:
            self._outage(first_tick)
        else:
            self.serve.tick(self.move(first_tick))
        self._activity(i, day, faults)
        for hour, minute in self.ticks[1:]:
            self.serve.tick(self.move(at(day, hour, minute)))
        if i % 5 == 4:
            self._list_totals(day)

    # --- a day's work ----------------------------------------------------------------------------------------

    def _activity(self, i: int, day: date, faults: list[str]) -> None:
        assert self.serve is not None
        names = [n for n in self.ledger.owners if n not in self.ledger.forgotten]
        self.move(at(day, 10))
        for name in self.rng.sample(names, self.rng.randint(3, 7)):
            self.log_touch(name, self.ledger.owners[name], self.rng.choice(["call", "email", "meeting"]))
        self._clicks(day)
        self.move(at(day, 11))
        if "handoff" in faults:
            name = self.rng.choice([n for n in names if n not in self.ledger.linked.values()])
            before = self.ledger.owners[name]
            after = self.rng.choice([p for p in PEOPLE if p != before])
            reply = self.command(f"handoff {name} to <@{after}>", before)
            self.note(f"handoff {name} {before} -> {after}: {reply.text[:80] if reply.body else reply.status}")
            if reply.body and "⚠️" not in reply.text:
                self.ledger.owners[name] = after
                self.ledger.handed.append((name, before, after))
        if "forget" in faults:
            self._forget(names)
        self.move(at(day, 12, self.rng.randint(0, 50)))
        self._slack_connect(burst="deploy" in faults)
        if "deploy" in faults:
            self.ledger.stops.append(self.serve.stop())  # at once after the burst: events still in hand
            self.note(f"deploy: serve stopped in {self.ledger.stops[-1]:.1f} s; starting again")
            self.serve.start(since=datetime.now(UTC) - timedelta(minutes=1))

    def _clicks(self, day: date) -> None:
        since = at(day, 0).timestamp()
        elements = []
        for channel, history in list(self.fake.messages.items()):
            for m in list(history):
                if float(m["ts"]) < since or not m.get("blocks"):
                    continue
                for block in m["blocks"]:
                    if block.get("type") != "actions":
                        continue
                    for e in block["elements"]:
                        if e.get("type") == "button" and (e["action_id"] == "nudge_not_relevant"
                                                          or e["action_id"].startswith("nudge_done")):
                            elements.append((channel, m["ts"], block.get("block_id", "b"), e))
        for channel, ts, block_id, e in self.rng.sample(elements, min(len(elements), self.rng.randint(1, 4))):
            user = self.rng.choice(PEOPLE)
            payload = bolt_python_block_actions(team="T1", user=user, channel=channel, message_ts=ts,
                                                response_url=f"{self.fake.url}/response/{uuid.uuid4().hex[:8]}",
                                                action_id=e["action_id"], block_id=block_id, value=e["value"],
                                                label=e["text"]["text"])
            body = urlencode({"payload": json.dumps(payload)})
            reply = self.slack.post(body, sign(body))
            self.note(f"click {e['action_id']} by {user} in {channel}: {reply.status}")

    def _slack_connect(self, burst: bool) -> None:
        """Messages in the linked channels: theirs (in) and, now and then, ours (out); every side of every
        client at most once in the hour, so each acknowledged message must be a touch. A burst (before a deploy)
        sends every side of every channel at once, so SIGTERM finds acknowledged events still in hand."""
        server = self.slack
        sends = []
        for channel, name in self.ledger.linked.items():
            if name in self.ledger.forgotten:
                continue
            if burst or self.rng.random() < 0.6:
                sends.append((EXTERNAL, "in", channel, name))
            if burst or self.rng.random() < 0.4:
                sends.append((self.ledger.owners[name], "out", channel, name))

        def send(user: str, direction: str, channel: str, name: str) -> None:
            ts = slack_message(server, user, datetime.now(UTC), channel=channel, text="(a message)")
            self.ledger.captured.append((name, channel, ts, direction))  # acknowledged: 200

        with ThreadPoolExecutor(max_workers=len(sends) if burst and sends else 1) as pool:
            for done in [pool.submit(send, *s) for s in sends]:
                done.result()

    def _forget(self, names: list[str]) -> None:
        carded = self._carded_clients()
        choices = [n for n in names if n in carded and n not in self.ledger.linked.values()] or \
            [n for n in names if n not in self.ledger.linked.values()]
        name = self.rng.choice(choices)
        owner = self.ledger.owners[name]
        reply = self.command(f"forget {name}", owner)
        button = next((e for block in (reply.json().get("blocks", []) if reply.body else [])
                       if block.get("type") == "actions" for e in block["elements"]
                       if e.get("action_id") == "forget_confirm"), None)
        if button is None:
            self.note(f"forget {name}: no confirmation offered ({reply.text[:80] if reply.body else reply.status})")
            return
        self.slack.click(button, user=owner)
        self.ledger.forgotten.append(name)
        self.note(f"forget {name} (owner {owner}){' - it had cards in Slack' if name in carded else ''}")

    def _carded_clients(self) -> set[str]:
        assert self.database is not None
        ids = set(self.fake.posted_nudge_ids())
        with self.database.sessions() as session:
            return set(session.scalars(select(Client.name).join(Nudge, Nudge.client_id == Client.id)
                                       .where(Nudge.id.in_(ids))))

    def _list_totals(self, day: date) -> None:
        live = {n: o for n, o in self.ledger.owners.items() if n not in self.ledger.forgotten}
        for which, user, expected in [("all", "UADMIN", len(live))] + \
                [("mine", p, sum(o == p for o in live.values())) for p in PEOPLE]:
            reply = self.command(f"list {which}", user)
            found = re.search(r"\((\d+)\)", reply.text if reply.body else "")
            shown = int(found.group(1)) if found else -1
            self.ledger.list_checks.append((f"{day} {user}", which, expected, shown))

    # --- faults ----------------------------------------------------------------------------------------------

    def _posts(self) -> Callable[[str, dict[str, Any]], bool]:
        def carries_nudges(method: str, params: dict[str, Any]) -> bool:
            if method != "chat.postMessage":
                return False
            metadata = params.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            return bool(((metadata or {}).get("event_payload") or {}).get("nudge_ids"))
        return carries_nudges

    def _sigkill(self, when: datetime) -> None:
        """SIGKILL to every process of serve while Slack is recording a post: its outcome is unknown to the
        database; then, before any sweep has settled it, a touch is logged for each client it carried."""
        assert self.serve is not None and self.database is not None
        serve, carries, nth = self.serve, self._posts(), self.rng.choice([1, 1, 2])
        seen: list[dict[str, Any]] = []
        killed = threading.Event()

        def on_call(method: str, params: dict[str, Any]) -> None:
            if carries(method, params) and not killed.is_set():
                seen.append(params)
                if len(seen) >= nth:
                    serve.kill()
                    killed.set()

        self.fake.on_call = on_call
        serve.tick(self.move(when), wait=False)
        floor = when.strftime("%Y-%m-%dT%H:%M")
        while not killed.wait(0.1):
            if any(s >= floor for s in serve.sweeps()):  # the sweep ended with fewer posts than that
                self.fake.on_call = None
                self.note(f"SIGKILL: the sweep posted fewer than {nth} messages; nothing killed")
                return
        self.fake.on_call = None
        metadata = seen[-1].get("metadata")
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.ledger.in_flight_at_kill = list(metadata["event_payload"]["nudge_ids"])
        self.note(f"SIGKILL mid-delivery: post {nth} of the sweep carried nudges {self.ledger.in_flight_at_kill}")
        serve.start()
        with self.database.sessions() as session:
            names = list(session.scalars(select(Client.name).join(Nudge, Nudge.client_id == Client.id)
                                         .where(Nudge.id.in_(self.ledger.in_flight_at_kill))))
        for name in names:
            if self.log_touch(name, self.ledger.owners[name], "email"):
                self.ledger.touched_after_kill.append(name)
        self.note(f"touches logged while that post was unsettled: {names}")
        serve.wait_for_sweep(when)

    def _slack_bad(self, when: datetime) -> None:
        """Slack answers badly for a while: 429s with Retry-After, 5xx before and after recording, dropped
        connections (and, in the long form, a timeout after recording)."""
        assert self.serve is not None
        modes = ["429", "5xx", "5xx-after", "drop", "429", "5xx"] + (["timeout"] if self.faults.timeouts else [])
        self.rng.shuffle(modes)
        self.fake.hang_seconds = 12.0  # past the delivery client's 10 s: the poster gives up, Slack has it
        for mode in modes:
            self.fake.fail_next("chat.postMessage", mode)
        self.fake.fail_next("conversations.history", "5xx")
        self.move(when)
        self.note(f"Slack unwell for this sweep: chat.postMessage answers {modes}")
        self.serve.tick(when)

    def _outage(self, when: datetime) -> None:
        """PostgreSQL unreachable for ~8 s from the moment the sweep's first post reaches Slack; a command sent
        meanwhile must be answered within 3 s, saying nothing was saved."""
        assert self.serve is not None and self.proxy is not None
        proxy, carries = self.proxy, self._posts()
        cut = threading.Event()

        def on_call(method: str, params: dict[str, Any]) -> None:
            if carries(method, params) and not cut.is_set():
                proxy.cut()
                cut.set()

        self.fake.on_call = on_call
        self.serve.tick(self.move(when), wait=False)
        if not cut.wait(90):
            proxy.cut()
            cut.set()
        self.fake.on_call = None
        started = time.monotonic()
        self.note("PostgreSQL unreachable (proxy cut)")
        name = self.rng.choice([n for n in self.ledger.owners if n not in self.ledger.forgotten])
        sent = time.monotonic()
        reply = self.command(f"log {name} call : during the outage", self.ledger.owners[name], timeout=5)
        self.ledger.outage_answers.append((time.monotonic() - sent, reply.text if reply.body else ""))
        time.sleep(max(0.0, 8.0 - (time.monotonic() - started)))  # the outage itself: eight seconds
        proxy.restore()
        self.note("PostgreSQL reachable again")
        self.serve.wait_for_sweep(when)
