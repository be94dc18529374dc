"""Sweeps at scale (PRODUCT.md §7): a first sweep over thousands of due clients never stands in the way of
people, and planning commits in batches, so a sweep stopped or killed part-way leaves a consistent outbox
that the next pass completes."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.bulk.demo import seed
from bot.nudges.planner import plan
from storage.models import Client, Interaction, Nudge, Workspace
from tests.cli import RAPPORT, clean_env

NOW = datetime.now(UTC).replace(microsecond=0)
QUIET_DUE = (Client.next_quiet_at < NOW) & Client.status.in_(("active", "prospect"))


def _seed(database, clients: int, team: str = "T1") -> None:
    with database.sessions.begin() as session:
        workspace = Workspace(team_id=team, enterprise_id="", created_at=NOW - timedelta(days=400))
        session.add(workspace)
        session.flush()
        seed(session, workspace, clients, NOW - timedelta(hours=1), owners=["UANA", "UBEN", "UCHLOE", "UDEV"])


def _keys(database) -> set[str]:
    with database.sessions() as session:
        return set(session.scalars(select(Nudge.dedup_key)))


def test_people_keep_logging_touches_while_a_first_sweep_plans_thousands(rapport, database, database_url, tmp_path):
    _seed(database, 12000)
    with database.sessions() as session:
        names = list(session.scalars(select(Client.name).where(Client.status == "active").order_by(Client.id)
                                    .limit(40)))
    env = clean_env(tmp_path, DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-test",
                    SLACK_API_URL=rapport.fake.api_url, RAPPORT_BUSINESS_HOURS="mon-sun 00:00-24:00",
                    RAPPORT_DIGEST=f"{('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')[NOW.weekday()]} 00:00")
    sweeper = subprocess.Popen([RAPPORT, "sweep"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    waits, answers, sent = [], [], 0
    while sweeper.poll() is None or sent < 5:  # for as long as the sweep runs (and a few, however quick it is)
        name = names[sent % len(names)]
        rapport.clock.now = datetime.now(UTC)
        started = time.monotonic()
        answers.append(rapport.command(f"log {name} call : while sweeping").json()["text"])
        waits.append(time.monotonic() - started)
        sent += 1
    out, err = sweeper.communicate(timeout=120)
    assert sweeper.returncode == 0, err
    planned = int(out.split("planned ")[1].split()[0])
    assert planned > 6000, out  # a neglected portfolio: thousands due at once
    assert all(text.startswith("Logged call") for text in answers), [a for a in answers if not a.startswith("Logged")]
    with database.sessions() as session:
        written = session.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.note == "while sweeping"))
    assert written == sent, "every touch sent during the sweep was written"
    print(f"{sent} commands during the sweep; the slowest answered in {max(waits):.2f} s; {out.strip()}")
    assert max(waits) < 3.0, f"a command waited {max(waits):.2f} s behind the sweep"


def test_a_sweep_stopped_part_way_leaves_an_outbox_the_next_pass_completes(database):
    _seed(database, 1500)
    with database.sessions() as session:
        due_before = session.scalar(select(func.count()).select_from(Client).where(QUIET_DUE))
    batches = []

    def stop_after_three() -> bool:
        batches.append(1)
        return len(batches) > 3

    first = plan(database.sessions, NOW, batch=100, stop=stop_after_three)
    part = _keys(database)
    assert first.batches == 3 and sum(first.planned.values()) == len(part) <= 300
    assert len(part) > 0, "what the committed batches planned is there"
    with database.sessions() as session:
        quiet_planned = {k for k in part if k.startswith("quiet:")}
        moved_on = session.scalar(select(func.count()).select_from(Client).where(Client.quiet_nudges > 0))
        still_due = session.scalar(select(func.count()).select_from(Client).where(QUIET_DUE))
    assert moved_on == len(quiet_planned), "each planned nudge's client moved on; nothing else did"
    assert still_due == due_before - len(quiet_planned)

    second = plan(database.sessions, NOW, batch=100)
    assert sum(second.planned.values()) > 0
    whole = _keys(database)
    assert part <= whole and len(whole) == len(part) + sum(second.planned.values())
    # and it is exactly what one uninterrupted pass plans
    assert sum(plan(database.sessions, NOW, batch=100).planned.values()) == 0
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client).where(QUIET_DUE)) == 0


def test_batches_plan_what_one_pass_plans(database, database_url):
    _seed(database, 800)
    one = plan(database.sessions, NOW, dry_run=True, batch=10_000).planned
    many = plan(database.sessions, NOW, dry_run=True, batch=37).planned
    assert one == many and sum(one.values()) > 200
    assert _keys(database) == set(), "a dry run writes nothing"
    real = plan(database.sessions, NOW, batch=37).planned
    assert real == one
