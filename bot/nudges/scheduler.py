"""APScheduler as a clock only: it says when to sweep; the database decides what happens exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utcnow
from bot.database import Database
from bot.nudges.sweep import slack_for, sweep
from bot.settings import Settings

log = logging.getLogger(__name__)


def sweep_job(database: Database, settings: Settings, clock: Clock = utcnow) -> Callable[[], None]:
    client = slack_for(settings, database)

    def run() -> None:
        try:
            log.info(sweep(database, settings, client, clock()).summary())
        except Exception:  # the next tick tries again; nothing is lost, the outbox keeps it
            log.exception("sweep failed")

    return run


def make_scheduler(settings: Settings, job: Callable[[], None], *, blocking: bool) -> BaseScheduler:
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                 "misfire_grace_time": settings.sweep_minutes * 60})
    scheduler.add_job(job, IntervalTrigger(minutes=settings.sweep_minutes, timezone=UTC), id="sweep",
                      next_run_time=utcnow())
    return scheduler
