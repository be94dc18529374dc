from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

RAPPORT = str(Path(sys.executable).with_name("rapport"))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A newcomer's environment: nothing of Rapport's configured."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "RAPPORT_", "DATABASE_URL", "PORT"))}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", **extra)
    return env


def run(args: list[str], cwd: Path, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAPPORT, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
                          env=clean_env(cwd, **extra))


def monday_after(days: int, hour: int = 10) -> datetime:
    """The first Monday at `hour`:00 UTC at least `days` days from now.

    A subprocess reads the machine's clock, so what it records "today" is today; a date the test then
    sweeps at must be derived from the same today, or the test only passes in the month it was written.
    """
    start = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days + 1)
    return start + timedelta(days=(7 - start.weekday()) % 7)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%MZ")
