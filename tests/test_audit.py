"""Who can change what, and the append-only record of who did."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from storage.models import AuditEvent, Workspace
from tests.cli import run
from tests.conftest import buttons
from tests.helpers import client_named


def trail(rapport) -> list[tuple[str, str, str]]:
    with rapport.database.sessions() as session:
        return [(e.actor_id, e.action, e.detail) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_every_change_is_recorded_and_the_latest_show_in_status(rapport):
    rapport.command("add Acme")
    rapport.command("rename acme to Acme Corp")
    rapport.command("owner acme corp <@UBEN|ben>")
    rapport.command("channel acme corp <#CACME|acme>", user="UBEN")
    rapport.command("checkin acme corp every 2w", user="UBEN")
    rapport.command("end acme corp no-winback : budget cut")
    rapport.command("reactivate acme corp")
    rapport.command("optout acme corp")
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.command("log acme corp call")  # logging a touch is not a change to the client
    assert trail(rapport) == [
        ("UANA", "created", ""), ("UANA", "renamed", "Acme → Acme Corp"), ("UANA", "owner", "UBEN"),
        ("UBEN", "channel", "CACME"), ("UBEN", "checkin", "every 2 weeks"),
        ("UANA", "ended", "budget cut; no win-back"), ("UANA", "reactivated", ""), ("UANA", "opted_out", ""),
        ("UADMIN", "default_channel", "CTEAM"),
    ]
    status = rapport.command("status acme corp").text
    changes = status[status.index("Changes"):]
    assert "@UANA recorded that they opted out" in changes and "@UANA reactivated it" in changes
    assert "@UBEN set check-ins: every 2 weeks" in changes and "@UBEN set its nudge channel to #CACME" in changes
    assert "added the client" not in changes  # five latest only


def test_the_trail_cannot_be_edited(rapport):
    rapport.command("add Acme Corp")
    with rapport.database.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_events SET actor_id = 'UMALLORY'"))
    assert trail(rapport) == [("UANA", "created", "")]


def test_forgetting_leaves_one_entry_and_no_name(rapport):
    rapport.command("add Acme Corp")
    rapport.command("rename acme corp to Secret Project")
    client_id = client_named(rapport.database, "Secret Project").id
    [forget, _] = buttons(rapport.command("forget secret project"))
    rapport.click(forget)
    assert trail(rapport) == [("UANA", "forgotten", "")]
    with rapport.database.sessions() as session:
        assert session.scalars(select(AuditEvent.client_id)).one() == client_id


def test_owner_forget_and_workspace_settings_need_the_owner_or_an_admin(rapport):
    rapport.command("add Acme Corp")  # UANA owns it
    refused = rapport.command("owner acme corp <@UBEN|ben>", user="UBEN")
    assert refused.text.strip().startswith("Only Acme Corp's owner or a workspace admin can change who owns Acme Corp")
    assert client_named(rapport.database, "Acme Corp").owner_id == "UANA"
    assert "Only Acme Corp's owner or a workspace admin can forget" in rapport.command("forget acme corp",
                                                                                         user="UBEN").text
    for user in ("UANA", "UBEN"):  # even a client's owner may not change the workspace's settings
        assert "Only a workspace admin can change the default nudge channel" in rapport.command(
            "channel default <#CTEAM|team>", user=user).text
    with rapport.database.sessions() as session:
        assert session.scalars(select(Workspace.default_channel_id)).one() is None
    assert trail(rapport) == [("UANA", "created", "")]
    # The admin may; everything else stays open to every member.
    assert "now owns" in rapport.command("owner acme corp <@UBEN|ben>", user="UADMIN").text
    assert "Logged" in rapport.command("log acme corp call", user="UANA").text
    assert "Renamed" in rapport.command("rename acme corp to Acme Group", user="UANA").text


def test_rapport_audit_exports_the_trail_as_csv(tmp_path):
    clients = tmp_path / "clients.csv"
    clients.write_text("name,owner\n=Acme,U0ANA\nBeta,U0ANA\n")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert run(["import", str(clients), "--team", "T0TEAM"], tmp_path, DATABASE_URL=url).returncode == 0
    result = run(["audit", "--team", "T0TEAM"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["client"], r["actor"], r["action"]) for r in rows] == [
        ("'=Acme", "rapport-import", "imported"), ("Beta", "rapport-import", "imported")]
    out = tmp_path / "audit.csv"
    written = run(["audit", str(out), "--team", "T0TEAM"], tmp_path, DATABASE_URL=url)
    assert written.returncode == 0 and "wrote 2 audit entries" in written.stderr and out.exists()
