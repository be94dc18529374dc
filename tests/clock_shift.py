"""Run the suite as if today were another day: `RAPPORT_TEST_TODAY=2027-12-01T10:00Z pytest`.

Every test of Rapport's rules injects `now`; what reads the machine's clock is the rest — signed
requests, and `rapport` run as a subprocess (the shell, sweep, serve), where a client added "today"
meets a sweep at a date the test chose. Moving the clock for the test process *and* every process it
starts finds the tests that only pass in the month they were written.

The clock keeps ticking from the chosen instant, and every process moves by the same offset, so
signatures made in one process and checked in another still agree.
"""

from __future__ import annotations

import functools
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import time_machine

TODAY = "RAPPORT_TEST_TODAY"
# Subprocesses get the offset rather than the instant, so one started minutes later is minutes later too.
# (Not RAPPORT_-prefixed: tests/cli.py hands subprocesses a newcomer's environment without those.)
OFFSET = "TEST_CLOCK_OFFSET_SECONDS"
SITE = Path(__file__).with_name("timeshift")


def shift_from_environment() -> float | None:
    """Move this process's clock if asked to, and arrange for every child process to follow."""
    wanted = os.environ.get(TODAY)
    if not wanted:
        return None
    target = datetime.fromisoformat(wanted.replace("Z", "+00:00"))
    if target.tzinfo is None:
        target = target.replace(tzinfo=UTC)
    offset = target.timestamp() - datetime.now(UTC).timestamp()
    os.environ[OFFSET] = repr(offset)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    travel(offset)
    return offset


def travel(offset: float) -> None:
    now = datetime.now(UTC).timestamp() + offset
    time_machine.travel(datetime.fromtimestamp(now, UTC), tick=True).start()


# A test module that reads the machine's clock (a `rapport` subprocess, datetime.now, time.time) and also
# writes a calendar date may hold only in the month it was written: conftest marks its tests
# `machine_clock`, and .ci/run runs them again with the clock moved.
MACHINE_CLOCK = re.compile(r"\bsubprocess\b|\btests\.cli\b|\bPopen\b|datetime\.now\(|date\.today\(|time\.time\(")
CALENDAR_DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d|\b(?:datetime|date)\(20\d\d\b")


@functools.cache
def pairs_a_date_with_the_machine_clock(path: Path) -> bool:
    source = path.read_text()
    return bool(MACHINE_CLOCK.search(source) and CALENDAR_DATE.search(source))
