"""Where an answer's time goes (issue 24): `/client` commands run in this process against a seeded database,
each timed, with its SQL statements counted and timed (the round trips), optionally under cProfile.

    python bench/answer_profile.py sqlite:////tmp/rapport-answers-bench.db
    python bench/answer_profile.py postgresql://127.0.0.1/rapport_bench --commands "status {n};list at-risk" --profile

`{n}` is a client's name (a different one each time), `{t}` the same name mistyped (its second letter left out: a
name no client has, answered "Did you mean …?"). Prints, for each command, its median and slowest time, the
statements it sent and the SQL time, then its six costliest statements. Reads and writes like the real thing: the
`log` commands it runs are written.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text

from bot.commands import run_client_command
from bot.slack.caller import Caller
from bot.slack.people import Person
from storage.db import make_engine, make_session_factory

COMMANDS = "status {n};status {t};log {n} call;list;list quiet;list mine;list at-risk;list all;list former"


def _line(command: str, name: str) -> str:
    return command.format(n=name, t=name[:1] + name[2:])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("--commands", default=COMMANDS, help="';'-separated /client lines; {n} is a client's name")
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile each command too")
    args = parser.parse_args()
    engine = make_engine(args.database)
    sessions = make_session_factory(engine)
    started: list[tuple[str, float]] = []
    spent: dict[str, list[float]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        started.append((statement, time.perf_counter()))

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sql, at = started[-1]
        spent.setdefault(sql, []).append(time.perf_counter() - at)

    with engine.connect() as conn:
        team = conn.execute(text("SELECT team_id FROM workspaces ORDER BY id LIMIT 1")).scalar_one()
        names = list(conn.execute(text("SELECT name FROM clients ORDER BY id LIMIT 200 OFFSET 5000")).scalars())
    caller = Caller(team_id=team, enterprise_id=None, user_id="UYOU",
                    person=lambda: Person(ZoneInfo("Europe/London"), False))
    now = datetime.now(UTC)
    for command in args.commands.split(";"):
        run_client_command(sessions, caller, _line(command, names[0]), now)  # warm the statement cache
        started.clear()
        spent.clear()
        times = []
        profile = cProfile.Profile() if args.profile else None
        for i in range(args.times):
            begun = time.perf_counter()
            if profile:
                profile.enable()
            run_client_command(sessions, caller, _line(command, names[(i + 1) % len(names)]), now)
            if profile:
                profile.disable()
            times.append(time.perf_counter() - begun)
        times.sort()
        sql = sum(sum(v) for v in spent.values())
        print(f"{command:30s} p50 {times[len(times) // 2] * 1000:7.1f} ms  max {times[-1] * 1000:7.1f} ms  "
              f"statements {len(started) / args.times:5.1f}  sql {sql / args.times * 1000:6.1f} ms")
        for statement, each in sorted(spent.items(), key=lambda kv: -sum(kv[1]))[:6]:
            print(f"    {sum(each) / args.times * 1000:7.2f} ms x{len(each) / args.times:4.1f}  "
                  f"{' '.join(statement.split())[:150]}")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
