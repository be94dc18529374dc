"""A month in the life (issue 35): the real `rapport serve` driven from outside through the workdays of a month,
its clock moved day by day, its own scheduler running, faults at random from a seed (printed; pass it back
with --seed to replay the same schedule), and the invariants checked and printed at the end (tests/month.py,
tests/month_invariants.py). tests/test_month.py runs one week of it with a fixed seed in the normal suite.

    python bench/month.py [--database sqlite|postgresql://postgres@127.0.0.1:5432/rapport_month] [--seed N]
                          [--days 20] [--clients 120] [--runs 1] [--workdir DIR]

A PostgreSQL database gets a schema of its own per run, dropped afterwards; the outage fault (the database
unreachable for ~8 s) needs PostgreSQL, as it is a proxy in front of it. Exits 1 if any invariant fails.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from tests.month_run import simulate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL")
    parser.add_argument("--seed", type=int, help="default: a random one, printed")
    parser.add_argument("--days", type=int, default=20, help="workdays (the month ends two before the last)")
    parser.add_argument("--clients", type=int, default=120)
    parser.add_argument("--runs", type=int, default=1, help="runs with consecutive random seeds")
    parser.add_argument("--workdir", type=Path, help="keep serve's log and the SQLite file here")
    args = parser.parse_args()
    outcomes = []
    for run in range(args.runs):
        seed = args.seed if args.seed is not None and run == 0 else random.SystemRandom().randrange(1, 10**6)
        workdir = Path(tempfile.mkdtemp(prefix=f"month-{seed}-")) if args.workdir is None else args.workdir / str(seed)
        workdir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{workdir / 'month.db'}" if args.database == "sqlite" else args.database
        print(f"seed {seed} (replay: --seed {seed}); serve's log: {workdir / 'serve.log'}", flush=True)
        outcomes.append(simulate(url, seed, args.days, workdir, clients=args.clients,
                                 say=lambda line: print(line, flush=True), web_concurrency=2,
                                 ticks=((9, 10), (15, 0))))
        if args.workdir is None and outcomes[-1].ok:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(o.summary() for o in outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
