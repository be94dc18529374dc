"""`rapport serve`: gunicorn (or Socket Mode) in front of the Bolt app, and the scheduler beside it.

The scheduler runs in a process of its own (`rapport worker --parent <this pid>`), one per server whatever
WEB_CONCURRENCY is, so a big sweep never competes with acknowledgements for a web worker's interpreter. The
server starts it, restarts it if it dies, and stops it the moment the server is told to stop, so a deploy's
SIGTERM leaves nothing running after 10 seconds (PRODUCT.md §8).

Told to stop, a web process stops accepting, answers what it has read, then finishes the work it acknowledged
(Bolt answers an event 200 before its listener runs, and Slack never retries a 200: a captured touch, a command's
answer) before it exits, within the same 10 seconds.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from bot.app import Backlog, build_app
from bot.clock import utcnow
from bot.database import open_database
from bot.server.mail_web import CardUpdates, MailWebhooks
from bot.server.metrics import Metrics
from bot.server.web import make_wsgi
from bot.settings import Settings, SettingsError
from bot.slack.installs import verify_secret_key

log = logging.getLogger(__name__)
# The path without its query (%(U)s, not the request line %(r)s): the OAuth redirect's query carries its code and state
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus'
STOP_SECONDS = 8.5  # from the SIGTERM: the scheduler's own grace (7 s) is shorter; past this it is killed, and the
# master still has 1.5 s of §8's 10 to exit on a loaded machine
GRACEFUL_SECONDS = 8  # gunicorn: how long a web worker has after SIGTERM, for its requests and what they acknowledged
DRAIN_SECONDS = 7.5  # from the SIGTERM, the acknowledged work a process finishes before it exits without the rest


SCHEDULER_NICE = 10  # the scheduler's CPU share beside the web processes: about a tenth of theirs when both want it


def _behind_the_web() -> None:
    """In the scheduler's process before it starts: a lower CPU priority, so a sweep planning a backlog takes the
    cores only when the web processes leave them idle, and acknowledgements do not queue behind it (PRODUCT.md §7).
    Its database work, and so its locks, are as quick as ever: only the Python between statements yields."""
    os.nice(SCHEDULER_NICE)


class SchedulerProcess:
    """The server's scheduler, as a child process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.told_at: float | None = None  # when it was first told to stop (monotonic): its bound runs from there

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--parent", str(os.getpid())],
                                        preexec_fn=_behind_the_web)  # the master has no threads: safe to fork here
        log.info("scheduler started (pid %s)", self.process.pid)

    def ensure_running(self) -> None:
        if not self.stopping and (self.process is None or self.process.poll() is not None):
            log.warning("the scheduler process stopped; starting it again")
            self.start()

    def signal_stop(self) -> None:
        self.stopping = True
        if self.told_at is None:
            self.told_at = time.monotonic()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float | None = None) -> None:
        """Until it has stopped, or the deadline (by default STOP_SECONDS from when it was first told to stop, the
        server's SIGTERM, however long the web processes took since); then it is killed."""
        self.signal_stop()
        if deadline is None:
            assert self.told_at is not None
            deadline = self.told_at + STOP_SECONDS
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("the scheduler did not stop in time; killing it")
            self.process.kill()
            self.process.wait()


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which also looks after the scheduler process: restarted if it dies, told to stop the
    moment the master is (not after the web workers have finished)."""

    def __init__(self, app: BaseApplication, scheduler: SchedulerProcess | None) -> None:
        super().__init__(app)
        self.scheduler = scheduler

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.scheduler is not None:
            self.scheduler.ensure_running()

    def handle_term(self) -> None:
        self._stop_scheduler()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_scheduler()
        super().handle_int()

    def handle_quit(self) -> None:
        self._stop_scheduler()
        super().handle_quit()

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.signal_stop()


def drain(backlog: Backlog, deadline: float) -> int:
    """Finish the work acknowledged to Slack before exiting (Slack never retries a 200), until the deadline. Returns
    how much was left unfinished."""
    pending = backlog.pending()
    if pending:
        log.info("stopping: finishing %d acknowledged task%s first", pending, "" if pending == 1 else "s")
    left = backlog.wait(deadline)
    if left:
        log.error("stopping: %d acknowledged task%s not finished in time, lost", left, "" if left == 1 else "s")
    return left


def _abandon() -> None:
    """Exit now, leaving work stuck past the deadline: Python's exit would wait for the threads running it, past the
    bound (PRODUCT.md §8), until the platform killed the process."""
    logging.shutdown()  # what was logged is written out first
    os._exit(1)


class _Worker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded web worker that, told to stop, finishes what it acknowledged before it exits: gunicorn
    stops accepting and answers the requests it has read, then the listeners, captures and answers they started
    run to the end (PRODUCT.md §8)."""

    stopping_since: float | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        super().handle_exit(sig, frame)

    def run(self) -> None:
        super().run()
        backlog = getattr(self.app, "backlog", None)
        if isinstance(backlog, Backlog) and drain(backlog, (self.stopping_since or time.monotonic()) + DRAIN_SECONDS):
            _abandon()  # at once, so gunicorn's master reaps this process rather than killing it at its own bound


def web_concurrency(env: Mapping[str, str] = os.environ) -> int:
    """WEB_CONCURRENCY web processes, or as many as the machine has cores."""
    raw = env.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return os.cpu_count() or 1
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise SettingsError(f"WEB_CONCURRENCY: expected a number of web processes from 1 to 256, got {raw!r}")
    return int(raw)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backlog = Backlog()  # made here, in the master; each web process has its own copy, by the fork
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"0.0.0.0:{self.settings.port}",
            # One process per core by default (gunicorn's WEB_CONCURRENCY convention): an answer's Python holds one
            # interpreter's GIL, so with one process every answer queues behind the others' (PRODUCT.md §7 answers).
            # Threads within each, as Bolt runs listeners on a pool anyway.
            "worker_class": _Worker,  # gunicorn's "gthread", finishing acknowledged work when told to stop
            "workers": web_concurrency(),
            "threads": 8,
            "timeout": 30,
            "graceful_timeout": GRACEFUL_SECONDS,
            "accesslog": "-",
            # %(D)s: microseconds from reading the request to the last byte of the answer (server-side latency)
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "loglevel": (self.settings.log_level or "INFO").lower(),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Answers are worked out on threads after the acknowledgement; a thread that only has to acknowledge
        # should not wait the default 5 ms for each hand-over of the GIL from them (bench/ack_latency.py).
        sys.setswitchinterval(0.0005)
        # Built in the worker, after fork: database connections must not cross a fork.
        database = open_database(self.settings)
        metrics = Metrics(database.engine, self.settings.metrics_token, utcnow) if self.settings.metrics_token else None
        assert self.settings.slack_signing_secret is not None  # require_slack() checked it before start-up
        wsgi = make_wsgi(build_app(self.settings, database.sessions, backlog=self.backlog), database.engine, metrics,
                         signing_secret=self.settings.slack_signing_secret,
                         mail=MailWebhooks(database.sessions, self.settings,
                                           cards=CardUpdates(self.settings, database.sessions, database.engine)))
        # The ~100,000 objects start-up leaves behind live as long as the worker: a full collection walking them
        # holds the GIL for ~25 ms, a stall for every request in flight. Frozen, collections walk only new ones.
        gc.freeze()
        return wsgi

    def run(self) -> None:
        scheduler = SchedulerProcess() if self.settings.scheduler else None
        if scheduler is not None:
            scheduler.start()
        try:
            _Arbiter(self, scheduler).run()
        finally:
            if scheduler is not None:
                scheduler.wait()  # from the SIGTERM (told at once, beside the web processes), not from now


def serve(settings: Settings) -> int:
    settings.require_slack()
    web_concurrency()  # a bad WEB_CONCURRENCY is refused here, before anything starts
    if not settings.scheduler:
        log.info("RAPPORT_SCHEDULER=off: this process serves Slack only")
    database = open_database(settings)  # fail fast, before anything starts, on a bad database, schema or key
    try:
        verify_secret_key(settings, database.engine)
    finally:
        database.engine.dispose()
    if settings.socket_mode:
        return _socket_mode(settings)
    _Gunicorn(settings).run()
    return 0


def _socket_mode(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    scheduler = SchedulerProcess() if settings.scheduler else None

    def stop(*_: object) -> None:
        raise SystemExit(0)  # unwinds the handler's wait in the main thread; the scheduler is stopped below

    signal.signal(signal.SIGTERM, stop)
    database = open_database(settings)
    backlog = Backlog()
    handler: SocketModeHandler | None = None
    try:
        if scheduler is not None:
            scheduler.start()
        handler = SocketModeHandler(build_app(settings, database.sessions, backlog=backlog), settings.slack_app_token)
        handler.start()  # type: ignore[no-untyped-call]  # slack_bolt leaves SocketModeHandler.start unannotated
    finally:
        stopping = time.monotonic()
        if scheduler is not None:
            scheduler.signal_stop()  # it stops alongside, not after
        if handler is not None:  # no more events; then what was acknowledged is finished
            handler.close()  # type: ignore[no-untyped-call]
        left = drain(backlog, stopping + DRAIN_SECONDS)
        if scheduler is not None:
            scheduler.wait(stopping + STOP_SECONDS)
        if left:
            _abandon()
        database.engine.dispose()
    return 0
