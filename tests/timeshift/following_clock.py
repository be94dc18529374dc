"""A clock that follows a file: every read of the time is the machine's time plus the offset (in seconds) the
file holds, re-read whenever the file changes. tests/month.py moves `rapport serve` (its web workers and its
scheduler, started and restarted whenever) and itself day by day through one file: each process sees a move
at its next read of the clock, with no signal and no wait. The monotonic clock is left alone, so sleeps,
timeouts and Slack's signature window behave as in production.

Imported by tests/timeshift/sitecustomize.py in the processes the simulation starts (TEST_CLOCK_FILE), and by
the simulation itself.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from time_machine import _time_machine

FILE = "TEST_CLOCK_FILE"


class _Following(time_machine.Traveller):
    path: str
    _seen: tuple[int, int, int] | None
    _offset_ns: int

    def time_ns(self) -> int:
        try:
            stat = os.stat(self.path)
            seen: tuple[int, int, int] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            with contextlib.suppress(OSError, ValueError):
                self._offset_ns = round(float(Path(self.path).read_text() or 0) * 1e9)
            self._seen = seen
        return int(_time_machine.original_time_ns()) + self._offset_ns


def follow(path: str | Path) -> time_machine.travel:
    """From now on this process's clock is the machine's plus the offset in `path` (until the returned travel's
    stop())."""
    travel = time_machine.travel(datetime.now(UTC), tick=True)
    traveller = travel.start()
    traveller.__class__ = _Following
    assert isinstance(traveller, _Following)
    traveller.path, traveller._seen, traveller._offset_ns = str(path), None, 0
    return travel


def real_now() -> datetime:
    """The machine's own time, whatever this process's clock says."""
    if not time_machine.escape_hatch.is_travelling():
        return datetime.now(UTC)
    return datetime.fromtimestamp(time_machine.escape_hatch.time.time_ns() / 1e9, UTC)


def move(path: str | Path, to: datetime) -> None:
    """Every process following `path` reads `to` from now on (and the clock ticks on from there)."""
    path = Path(path)
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(repr(to.timestamp() - real_now().timestamp()))
    os.replace(scratch, path)  # a new file: readers see the old offset or the new one, never half of it
