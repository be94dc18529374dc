"""`rapport seed-demo`: believable history that the rest of Rapport treats like any other."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.bulk.demo import seed
from bot.nudges.planner import plan
from bot.relationship.health_data import health_of
from storage.models import Client, Interaction, Referral
from storage.workspaces import get_or_create_workspace
from tests.cli import run

NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)


def test_a_seeded_workspace_has_every_kind_of_relationship(database):
    with database.sessions.begin() as session:
        workspace = get_or_create_workspace(session, "T1", None, NOW)
        report = seed(session, workspace, 400, NOW, owners=["UANA", "UBEN"])
    assert report.clients == 400 and report.interactions > 4000 and report.referrals > 0
    with database.sessions() as session:
        clients = list(session.scalars(select(Client)))
        statuses = Counter(c.status for c in clients)
        labels = Counter(h.label for h in health_of(session, clients, NOW).values())
        assert session.scalar(select(func.count()).select_from(Interaction)) == report.interactions
        assert session.scalar(select(func.count()).select_from(Referral)) == report.referrals
    assert set(statuses) == {"active", "prospect", "former"}
    assert set(labels) == {"Deep", "Steady", "Shallow", "At risk"}, labels
    planned = plan(database.sessions, NOW, dry_run=True).planned  # and the nudge engine finds work of every kind
    assert {"quiet", "unanswered", "at_risk", "checkin", "thank"} <= set(planned), planned


def test_seed_demo_command_fills_the_shells_workspace(tmp_path):
    result = run(["seed-demo", "--clients", "300"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("seeded 300 clients with ") and "into workspace TSHELL" in result.stdout
    listed = run(["shell"], tmp_path, "/client list mine\n").stdout
    assert "Your clients (" in listed and "@you" in listed
    assert run(["seed-demo", "--clients", "0"], tmp_path).returncode == 2

