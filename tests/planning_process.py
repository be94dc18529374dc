"""A planning process for tests/test_shared_planning.py: one shared planning pass as of argv[1], with the database
and settings of the environment. It says each workspace it takes the lease of ("lease <id>") and waits for a line on
stdin before planning it, so a test decides when each process moves on (or kills it holding a lease); "done" at
the end. Run as `python -m tests.planning_process <ISO instant>` from the repository."""

from __future__ import annotations

import sys
from datetime import datetime

from bot.database import open_database
from bot.nudges.sweep import plan_shared_pass
from bot.settings import load_settings


def _taken(workspace_id: int) -> None:
    print(f"lease {workspace_id}", flush=True)
    sys.stdin.readline()


def main() -> int:
    settings = load_settings()
    database = open_database(settings)
    report = plan_shared_pass(database, datetime.fromisoformat(sys.argv[1]), settings, on_lease=_taken)
    print(f"done {sum(report.planned.values())}", flush=True)
    database.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
