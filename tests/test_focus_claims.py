"""Scale-out (issue 32): of the processes sweeping a pass, one chooses a workspace's focus cards — the one that
planned it in that pass, else the first to take it — and the others do not read its waiting nudges at all (two
processes read the nudges table twice over before). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.nudges import focus, sweep
from storage.leases import ensure_leases, give_back, take_focus, take_lease
from storage.models import Workspace
from tests.test_focus import THURSDAY, _posted
from tests.test_sweep import run_sweep

PASS = THURSDAY.replace(minute=0)
NEXT = PASS + timedelta(minutes=15)


def _workspace(database) -> int:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=PASS - timedelta(days=40))
        session.add(workspace)
        session.flush()
        ensure_leases(session, [workspace.id])
        return workspace.id


def _take(database, workspace_id: int, process: str, pass_at=PASS) -> bool:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        return take_focus(session, workspace_id, process, pass_at, pass_at + timedelta(minutes=1))


def test_one_process_a_pass_takes_a_workspaces_focus(database):
    workspace_id = _workspace(database)
    assert _take(database, workspace_id, "a:1")
    assert not _take(database, workspace_id, "b:2")  # taken in this pass
    assert _take(database, workspace_id, "a:1")  # the same process sweeping again
    assert _take(database, workspace_id, "b:2", NEXT)  # the next pass: whoever comes first


def test_the_process_that_planned_a_workspace_chooses_its_focus(database):
    workspace_id = _workspace(database)
    at = PASS + timedelta(minutes=1)
    with database.sessions.begin() as session:
        assert take_lease(session, workspace_id, "b:2:x", "b:2", PASS, at, at + timedelta(seconds=60))
    assert not _take(database, workspace_id, "a:1")  # being planned: what is planned must be ranked too
    with database.sessions.begin() as session:
        give_back(session, workspace_id, "b:2:x", planned_in=PASS, process="b:2")
    assert not _take(database, workspace_id, "a:1")  # b planned it in this pass: b chooses
    assert _take(database, workspace_id, "b:2")


def test_a_second_process_sweeping_the_pass_leaves_the_focus_to_the_first(rapport, monkeypatch):
    for i in range(4):
        rapport.command(f"add Alpha {i} channel <#CA|a>")
    ranked: list[str] = []
    real = focus.ranked_pages

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        ranked.append(process)
        return real(*args, **kwargs)

    monkeypatch.setattr(focus, "ranked_pages", counting)
    process = "host:1"
    monkeypatch.setattr(sweep, "worker_name", lambda: process)
    first = run_sweep(rapport, THURSDAY)
    assert first.focus is not None and first.focus.cards == 4
    process = "host:2"
    second = run_sweep(rapport, THURSDAY + timedelta(minutes=1))  # the same pass, another process
    assert second.focus is not None and (second.focus.cards, second.focus.waiting) == (0, 0)
    assert ranked == ["host:1"]  # the second never read the workspace's waiting nudges
    assert len(_posted(rapport)) == 4  # each card once
