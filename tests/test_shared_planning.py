"""Planning shared between processes (PRODUCT.md §7 scale-out): two or three processes planning one pass against
one database split it a workspace at a time, every workspace planned exactly once; a process killed holding a
workspace's lease leaves it to the next pass, which plans it. Real processes, on both databases (on SQLite they
take turns for the write lock)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.nudges.leases import pass_of
from bot.settings import Settings
from storage.leases import planners_in_pass, plans_in_pass
from storage.models import Client, Nudge, Workspace
from tests.cli import clean_env

ROOT = Path(__file__).resolve().parents[1]
WORKSPACES, CLIENTS = 12, 15
CREATED = datetime(2026, 10, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 17, 3, 0, tzinfo=UTC)  # a Tuesday night: planning only
MINUTES = Settings.sweep_minutes


def _seed(database) -> list[int]:
    """WORKSPACES workspaces, each with CLIENTS clients gone quiet."""
    ids = []
    with database.sessions.begin() as session:
        for w in range(WORKSPACES):
            workspace = Workspace(team_id=f"T{w:03d}", enterprise_id="", created_at=CREATED)
            session.add(workspace)
            session.flush()
            ids.append(workspace.id)
            session.execute(insert(Client), [
                {"workspace_id": workspace.id, "name": f"Client {i:03d}", "name_key": f"client {i:03d}",
                 "owner_id": "UANA", "channel_id": "C1", "status": "active", "created_at": CREATED,
                 "created_by": "UANA", "next_quiet_at": CREATED + timedelta(days=30)} for i in range(CLIENTS)])
    return ids


def _planner(database_url: str, tmp_path: Path, at: datetime) -> subprocess.Popen[str]:
    env = clean_env(tmp_path, DATABASE_URL=database_url, RAPPORT_DIGEST="off")
    return subprocess.Popen([sys.executable, "-m", "tests.planning_process", at.isoformat()], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline().strip()
    assert line, f"the planner stopped without a word: {process.stderr.read() if process.stderr else ''}"
    return line


def _go(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.flush()


def _nudges_per_client(database) -> Counter[int]:
    with database.sessions() as session:
        return Counter(session.scalars(select(Nudge.client_id).where(Nudge.kind == "quiet")))


def _clients_of(database, workspace_id: int) -> set[int]:
    with database.sessions() as session:
        return set(session.scalars(select(Client.id).where(Client.workspace_id == workspace_id)))


@pytest.mark.parametrize("processes", [2, 3])
def test_planning_processes_split_a_pass_and_plan_each_workspace_exactly_once(processes, database, database_url,
                                                                               tmp_path):
    workspaces = _seed(database)
    planners = [_planner(database_url, tmp_path, NOW) for _ in range(processes)]
    try:
        # Every process takes a lease before any plans: while they all hold one, each holds a different workspace
        first = [_line(p) for p in planners]
        assert all(line.startswith("lease ") for line in first)
        assert len(set(first)) == processes, f"two processes took one workspace's lease at once: {first}"
        taken = Counter(first)
        alive = list(planners)
        for p in alive:
            _go(p)
        while alive:
            for p in list(alive):
                line = _line(p)
                if line.startswith("done"):
                    alive.remove(p)
                    continue
                taken[line] += 1
                _go(p)
        assert [p.wait(timeout=60) for p in planners] == [0] * processes
    finally:
        for p in planners:
            if p.poll() is None:
                p.kill()
                p.wait()

    assert sorted(int(line.split()[1]) for line in taken) == workspaces and set(taken.values()) == {1}
    with database.sessions() as session:
        # measured by the database: each workspace planned once in this pass, the work split between the processes
        assert plans_in_pass(session, pass_of(NOW, MINUTES)) == {w: 1 for w in workspaces}
        by_process = planners_in_pass(session, pass_of(NOW, MINUTES))
        assert len(by_process) == processes and sum(by_process.values()) == WORKSPACES
        assert session.scalar(select(func.count()).select_from(Client)) == WORKSPACES * CLIENTS
    counts = _nudges_per_client(database)
    assert len(counts) == WORKSPACES * CLIENTS and set(counts.values()) == {1}, "every client's nudge planned once"


def test_a_process_killed_holding_a_lease_leaves_that_workspace_to_the_next_pass(database, database_url, tmp_path):
    workspaces = _seed(database)
    doomed = _planner(database_url, tmp_path, NOW)
    line = _line(doomed)
    held = int(line.split()[1])
    doomed.kill()  # SIGKILL, holding the lease and having planned nothing of that workspace
    doomed.wait()

    survivor = _planner(database_url, tmp_path, NOW)  # the same pass: the lease has not expired
    while (line := _line(survivor)).startswith("lease "):
        assert int(line.split()[1]) != held, "a live lease was taken"
        _go(survivor)
    assert survivor.wait(timeout=60) == 0
    counts = _nudges_per_client(database)
    assert not _clients_of(database, held) & set(counts), "the killed process's workspace waits for the next pass"
    assert len(counts) == (WORKSPACES - 1) * CLIENTS

    later = NOW + timedelta(minutes=MINUTES)  # the next pass
    nxt = _planner(database_url, tmp_path, later)
    assert _line(nxt) == f"lease {held}", "the next pass takes the dead process's workspace (nothing else is due)"
    _go(nxt)
    assert _line(nxt).startswith("done") and nxt.wait(timeout=60) == 0
    counts = _nudges_per_client(database)
    assert len(counts) == WORKSPACES * CLIENTS and set(counts.values()) == {1}
    with database.sessions() as session:
        assert plans_in_pass(session, pass_of(later, MINUTES)) == {held: 1}
        assert set(plans_in_pass(session, pass_of(NOW, MINUTES))) == set(workspaces) - {held}
