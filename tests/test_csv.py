"""CSV import and export: idempotent by name, every rejected row explained, bad rows leave no trace."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.bulk.csv_io import export_rows, import_rows, read_csv
from storage.workspaces import get_or_create_workspace
from tests.cli import run
from tests.helpers import client_named, counts, interactions_of

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
# Epsilon's last contact is in the future both for NOW and for `rapport import`, which reads the machine's clock.
A_YEAR_ON = (datetime.now(UTC) + timedelta(days=366)).date().isoformat()
GOOD_AND_BAD = f"""name,owner,checkin_every,last_contact,channel,status
Acme Corp,U0ANA,2w,2026-11-01,C0ACME,active
Beta Ltd,<@U0BEN|ben>,,,,prospect
,U0ANA,,,,
Gamma,U0ANA,fortnightly,,,
Delta,U0ANA,,2026-13-01,,
Epsilon,U0ANA,,{A_YEAR_ON},,
Zeta,ana,,,,
Eta,U0ANA,,,#general,
Theta,U0ANA,,,,sleeping
Acme Corp,U0BEN,,,,
Iota,,,,,
"""


def _import(database, text):
    with database.sessions.begin() as session:
        workspace = get_or_create_workspace(session, "T1", None, NOW)
        return import_rows(session, workspace, read_csv(io.StringIO(text)), default_owner=None, tz=LONDON, now=NOW)


def test_import_reports_each_rejected_row_and_keeps_the_good_ones(database):
    report = _import(database, GOOD_AND_BAD)
    assert report.added == ["Acme Corp", "Beta Ltd"]
    reasons = dict(report.rejected)
    assert set(reasons) == {4, 5, 6, 7, 8, 9, 10, 11, 12}
    assert "name is empty" in reasons[4]
    assert "checkin_every" in reasons[5]
    assert "not a date" in reasons[6] and "future" in reasons[7]
    assert "Slack member id" in reasons[8] and "channel id" in reasons[9]
    assert "status 'sleeping'" in reasons[10] and "earlier in the file" in reasons[11]
    assert "owner is empty" in reasons[12]
    assert counts(database) == (2, 1, 0)
    acme = client_named(database, "Acme Corp")
    assert (acme.owner_id, acme.checkin_count, acme.checkin_unit, acme.channel_id) == ("U0ANA", 2, "w", "C0ACME")
    assert acme.last_contact_at == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert client_named(database, "Beta Ltd").status == "prospect"


def test_import_is_idempotent_by_name(database):
    _import(database, GOOD_AND_BAD)
    again = _import(database, GOOD_AND_BAD)
    assert again.added == [] and sorted(again.unchanged) == ["Acme Corp", "Beta Ltd"]
    assert counts(database) == (2, 1, 0)
    update = _import(database, "name,owner,status\nacme corp,U0BEN,paused\n")
    assert update.updated == ["acme corp"]
    assert client_named(database, "Acme Corp").owner_id == "U0BEN"
    assert client_named(database, "Acme Corp").status == "paused"


def test_export_round_trips_through_import(database):
    _import(database, "name,owner,checkin_every,last_contact\n=Formula Ltd,U0ANA,1m,2026-10-01\nAcme,U0ANA,,\n")
    out = io.StringIO()
    with database.sessions.begin() as session:
        count = export_rows(session, get_or_create_workspace(session, "T1", None, NOW), out, LONDON, NOW)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == 2
    formula = next(r for r in rows if "Formula" in r["name"])
    assert formula["name"] == "'=Formula Ltd"  # a spreadsheet shows it as text, not a formula
    assert (formula["checkin_every"], formula["last_contact"], formula["next_checkin"]) == ("1m", "2026-10-01",
                                                                                            "2026-12-16")
    report = _import(database, out.getvalue())
    assert sorted(report.unchanged) == ["=Formula Ltd", "Acme"] and report.rejected == []
    assert len(interactions_of(database, "=Formula Ltd")) == 1


def test_import_and_export_commands(tmp_path):
    source = tmp_path / "clients.csv"
    source.write_text(GOOD_AND_BAD)
    first = run(["import", "clients.csv"], tmp_path)
    assert first.returncode == 2 and "--team" in first.stderr
    result = run(["import", "clients.csv", "--team", "T0TEAM"], tmp_path)
    assert result.returncode == 1  # some rows were rejected
    assert "line 8: rejected: owner 'ana' is not a Slack member id" in result.stdout
    assert "clients.csv: 2 added, 0 updated, 0 unchanged, 9 rejected" in result.stdout
    exported = run(["export"], tmp_path)
    assert exported.returncode == 0
    assert exported.stdout.splitlines()[0] == ("name,owner,status,channel,checkin_every,next_checkin,last_contact,"
                                               "last_contact_side,last_heard_from_them,unanswered,open_referrals,"
                                               "next_nudge,health,value,contacts,domains")
    assert exported.stdout.splitlines()[1].rsplit(",", 4)[1] in ("Deep", "Steady", "Shallow", "At risk")
    assert "Acme Corp,U0ANA,active,C0ACME,2w" in exported.stdout
    assert run(["export", "out.csv"], tmp_path).returncode == 0
    assert (tmp_path / "out.csv").read_text() == exported.stdout
    missing = run(["import", "nope.csv"], tmp_path)
    assert missing.returncode == 2 and "cannot read nope.csv" in missing.stderr
    (tmp_path / "bad.csv").write_text("client,when\nx,y\n")
    assert "first line must name the columns" in run(["import", "bad.csv"], tmp_path).stderr


def test_values_import_update_and_clear(database):
    report = _import(database, "name,owner,value\nAcme Corp,U0ANA,1.2m\nBeta Ltd,U0ANA,lots\nGamma,U0ANA,250k\n")
    assert report.added == ["Acme Corp", "Gamma"]
    assert report.rejected == [(3, "value: I can't read 'lots' as an amount. Use a number like 250000, 250k or "
                                   "1.2m, or none to clear it")]
    assert client_named(database, "Acme Corp").value == 1_200_000
    again = _import(database, "name,value\nAcme Corp,\nGamma,none\n")  # empty leaves it; none clears it
    assert again.unchanged == ["Acme Corp"] and again.updated == ["Gamma"]
    assert client_named(database, "Acme Corp").value == 1_200_000 and client_named(database, "Gamma").value is None


def test_import_before_any_command_finds_the_workspace_from_the_bot_token(tmp_path, fake_slack):
    (tmp_path / "clients.csv").write_text("name,owner,value\nAcme Corp,U0ANA,250k\n")
    fake_slack.users["U0ANA"] = {"tz": "UTC"}  # a person of the workspace: the import checks each owner with Slack
    token = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.api_url}
    result = run(["import", "clients.csv"], tmp_path, **token)
    assert result.returncode == 0 and "1 added" in result.stdout, result.stderr
    assert fake_slack.called("auth.test")
    exported = run(["export"], tmp_path, **token)
    # no contacts, no domains
    assert "Acme Corp,U0ANA,active" in exported.stdout and exported.stdout.strip().endswith(",250000,,")
    from bot.database import open_database
    from bot.settings import Settings
    from storage.models import Workspace

    database = open_database(Settings(database_url=f"sqlite:///{tmp_path / 'rapport.db'}"))
    with database.sessions() as session:
        assert [w.team_id for w in session.query(Workspace)] == [fake_slack.team_id]
    database.engine.dispose()
    elsewhere = tmp_path / "elsewhere"  # a fresh database, and Slack down
    elsewhere.mkdir()
    (elsewhere / "clients.csv").write_text("name,owner\nAcme Corp,U0ANA\n")
    down = run(["import", "clients.csv"], elsewhere, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL="http://127.0.0.1:9/api/")
    assert down.returncode == 2
    assert "no workspace in this database yet (Slack could not say which workspace SLACK_BOT_TOKEN belongs to: " \
           "Slack did not answer" in down.stderr and "--team" in down.stderr
