from __future__ import annotations

import os
import subprocess
import sys
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
