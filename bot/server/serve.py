"""`rapport serve`: gunicorn (or Socket Mode) in front of the Bolt app."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.app import build_app
from bot.clock import utcnow
from bot.database import Database, open_database
from bot.nudges.scheduler import make_scheduler, sweep_job
from bot.server.metrics import Metrics
from bot.server.web import make_wsgi
from bot.settings import Settings
from bot.slack.installs import verify_secret_key

log = logging.getLogger(__name__)
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(D)sus'


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"0.0.0.0:{self.settings.port}",
            # threads, not processes: one process keeps SQLite simple and Bolt runs listeners on a pool anyway
            "worker_class": "gthread",
            "workers": int(os.environ.get("WEB_CONCURRENCY", "1")),
            "threads": 8,
            "timeout": 30,
            "accesslog": "-",
            # %(D)s: microseconds from reading the request to the last byte of the answer (server-side latency)
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Answers are worked out on threads after the acknowledgement; a thread that only has to acknowledge
        # should not wait the default 5 ms for each hand-over of the GIL from them (bench/ack_latency.py).
        sys.setswitchinterval(0.0005)
        # Built in the worker, after fork: database connections and scheduler threads must not cross a fork.
        database = open_database(self.settings)
        _start_scheduler(self.settings, database)
        metrics = Metrics(database.engine, self.settings.metrics_token, utcnow) if self.settings.metrics_token else None
        return make_wsgi(build_app(self.settings, database.sessions), database.engine, metrics)


def _start_scheduler(settings: Settings, database: Database) -> None:
    if settings.scheduler:
        make_scheduler(settings, sweep_job(database, settings), blocking=False).start()


def serve(settings: Settings) -> int:
    settings.require_slack()
    if not settings.scheduler:
        log.info("RAPPORT_SCHEDULER=off: this process serves Slack only")
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        database = open_database(settings)
        _start_scheduler(settings, database)
        app = build_app(settings, database.sessions)
        SocketModeHandler(app, settings.slack_app_token).start()
        return 0
    database = open_database(settings)  # fail fast, in the parent, on a bad database, schema or secret key
    try:
        verify_secret_key(settings, database.engine)
    finally:
        database.engine.dispose()
    _Gunicorn(settings).run()
    return 0
