"""The scheduler: APScheduler as a clock only (it says when to sweep; the database decides what happens exactly
once), and the process that runs it (`rapport worker`, and the one `rapport serve` starts beside itself).

Stopping (PRODUCT.md §8): on SIGTERM or SIGINT nothing new starts, the sweep in hand stops at its next step (no
more choosing or claiming, the post in flight finishes, claimed but unsent nudges go back to the outbox), and
the process exits well inside 10 seconds. A sweep stuck in a network call past the grace period gives up its
claims as unknown outcomes (the next sweep looks in Slack's history before posting them) and the process exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utcnow
from bot.database import Database, is_outage, open_database, wait_for_database
from bot.nudges.sweep import Capture, slack_for, sweep, worker_name
from bot.settings import Settings
from storage.outbox import abandon_claims

log = logging.getLogger(__name__)
GRACE_SECONDS = 7.0  # for the sweep in hand to wind down; platforms kill at 30 s, PRODUCT.md §8 asks for 10
PARENT_CHECK_SECONDS = 1.0


class SweepJob:
    """The scheduler's job: one sweep at a time, which a stop cuts short."""

    def __init__(self, database: Database, settings: Settings, clock: Clock, stop: threading.Event,
                 capture: Capture | None = None) -> None:
        self.database, self.settings, self.clock, self.stop, self.capture = database, settings, clock, stop, capture
        self.slack = slack_for(settings, database, stop)
        self.idle = threading.Event()
        self.idle.set()

    def __call__(self) -> None:
        if self.stop.is_set():
            return
        self.idle.clear()
        try:
            while not self.stop.is_set():
                try:
                    log.info(sweep(self.database, self.settings, self.slack, self.clock(), stop=self.stop,
                                   capture=self.capture).summary())
                    return
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    # Not a tick later (minutes): the moment the database is back, sweep again (PRODUCT.md §5).
                    log.warning("sweep interrupted: the database is unavailable (%s); sweeping again when it "
                                "is back", type(exc).__name__)
                    if not wait_for_database(self.database.engine, self.stop, self.settings.sweep_minutes * 60):
                        return
        except Exception:  # the next tick tries again; nothing is lost, the outbox keeps it
            log.exception("sweep failed")
        finally:
            self.idle.set()


def sweep_job(database: Database, settings: Settings, clock: Clock = utcnow,
              stop: threading.Event | None = None, capture: Capture | None = None) -> SweepJob:
    return SweepJob(database, settings, clock, stop or threading.Event(), capture)


def make_scheduler(settings: Settings, job: Callable[[], None], *, blocking: bool) -> BaseScheduler:
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                 "misfire_grace_time": settings.sweep_minutes * 60})
    scheduler.add_job(job, IntervalTrigger(minutes=settings.sweep_minutes, timezone=UTC), id="sweep",
                      next_run_time=utcnow())
    return scheduler


def run_worker(settings: Settings, *, parent: int | None = None, clock: Clock = utcnow,
               capture: Capture | None = None) -> int:
    """The scheduler in this process until SIGTERM/SIGINT, or until `parent` (the server that started it) is
    gone, then a clean stop. `capture`: see bot.nudges.sweep.sweep."""
    database = open_database(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    job = sweep_job(database, settings, clock, stop, capture)
    scheduler = make_scheduler(settings, job, blocking=False)
    scheduler.start()
    print(f"rapport worker: sweeping every {settings.sweep_minutes} minutes", file=sys.stderr, flush=True)
    while not stop.wait(PARENT_CHECK_SECONDS):
        if parent is not None and os.getppid() != parent:
            log.warning("the server that started this scheduler is gone; stopping")
            stop.set()
    scheduler.shutdown(wait=False)
    if not job.idle.wait(GRACE_SECONDS):
        try:
            with database.sessions.begin() as session:
                given_up = abandon_claims(session, worker_name())
            log.warning("stopped mid-sweep: %d claimed nudges handed back to be checked and posted", given_up)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("stopped mid-sweep with the database unavailable: claims are left to their lease")
        logging.shutdown()
        os._exit(0)  # the sweep's thread is still blocked in a network call; nothing of it is needed now
    database.engine.dispose()
    print("rapport worker: stopped", file=sys.stderr, flush=True)
    return 0
