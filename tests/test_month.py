"""One week of the simulated month (issue 35; bench/month.py runs the month): the real `rapport serve`, its clock
moved day by day, its own scheduler, an import on a Saturday, touches, clicks, Slack Connect messages, a handoff,
a forget, a deploy, a SIGKILL mid-delivery, Slack answering 5xx and 429, the month's end; a fixed seed, so a red
run draws the same faults on the same days again (`python bench/month.py --days 5 --seed 35` draws them too, with an
afternoon sweep and two web processes besides). About 20-40 s on 2 cores."""

from __future__ import annotations

from tests.month_run import simulate

SEED, DAYS = 35, 5


def test_a_week_of_an_agencys_life_under_faults_keeps_every_promise(tmp_path):
    outcome = simulate(f"sqlite:///{tmp_path / 'month.db'}", SEED, DAYS, tmp_path, clients=120)
    failed = "\n".join(c.line() for c in outcome.checks if not c.ok)
    assert outcome.ok, f"{outcome.summary()}\n{failed}\nserve's log: {tmp_path / 'serve.log'}"
