"""`rapport serve` for tests/test_stop.py, with a gate between a message event's acknowledgement and its capture.

The real server, except that the listener of a linked channel's messages, once Bolt has answered Slack 200, calls
the fake Slack's `test.gate` before handing the message on to be recorded: the fake answers when the test says, so
a test can send SIGTERM while the work is acknowledged and not yet done. Run as `python -m tests.gated_serve serve`
from the repository (gunicorn's web processes are forked from this one, and keep the gate).

With GATED_SCHEDULER=stubborn, the scheduler process beside it is one that will not stop when told (as one stuck in
a call to a database that is away would not): it ignores SIGTERM, so only the server's kill at its bound ends it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import handlers.events
from bot.cli import main
from bot.server import serve

T = TypeVar("T")
GATE = "test.gate"


class Gated(Executor):
    """Hands work on to `inner` once the fake Slack answers the gate."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        request = urllib.request.Request(os.environ["SLACK_API_URL"] + GATE, data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60):
            pass
        return self.inner.submit(fn, *args, **kwargs)


_register = handlers.events.register


def _gated_register(app: Any, session_factory: Any, directory: Any, clock: Any, workers: Executor,
                    *rest: Any) -> None:
    _register(app, session_factory, directory, clock, Gated(workers), *rest)


def _ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # ignored from before exec, and so from its first instant


def _start_stubborn(self: serve.SchedulerProcess) -> None:
    self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                    preexec_fn=_ignore_sigterm)
    logging.getLogger(serve.__name__).info("scheduler started (pid %s), one that will not stop", self.process.pid)


if __name__ == "__main__":  # only then: a test importing GATE from here leaves its own process as it was
    handlers.events.register = _gated_register  # type: ignore[assignment]
    if os.environ.get("GATED_SCHEDULER") == "stubborn":
        serve.SchedulerProcess.start = _start_stubborn  # type: ignore[method-assign]
    raise SystemExit(main())
