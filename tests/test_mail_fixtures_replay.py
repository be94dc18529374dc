"""Bodies nobody here wrote (tests/fixtures/mail, sources in its SOURCES.md) replayed through the real surfaces: each
provider's own body to its webhook on the app `serve` runs, the raw messages to `/mail/mime` and over SMTP to
`rapport mail-server`, and the calendars through `rapport import-mail`."""

from __future__ import annotations

import json
import smtplib
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from storage.models import Client, Interaction, MailMeeting
from tests.cli import run
from tests.mail_fixtures import FIXTURES, fields, fixture
from tests.mail_helpers import key_of, outcome, post_mail

CLIENTS = {"Acme": "acme.com", "Example Org": "example.org", "Example Com": "example.com",
           "Postmark": "postmarkapp.com", "Canonical": "canonical.com"}
OUTCOMES = {"email", "meeting", "cancelled", "already recorded", "unmatched", "automated", "internal"}


def _setup(rapport) -> str:
    for name, domain in CLIENTS.items():
        rapport.command(f'add "{name}"')
        rapport.command(f'domain "{name}" {domain}')
    rapport.command("mail ours agency.example", user="UADMIN")
    return key_of(rapport)


def _touches_of(rapport, name: str) -> list[Interaction]:
    with rapport.database.sessions() as session:
        stmt = (select(Interaction).join(Client, Client.id == Interaction.client_id)
                .where(Client.name == name, Interaction.source == "mail").order_by(Interaction.occurred_at))
        return list(session.scalars(stmt))


def _multipart(parts: dict[str, str], boundary: str = "xYzZY") -> bytes:
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in parts.items())
    return (body + f"--{boundary}--\r\n").encode("utf-8", "surrogateescape")


def test_the_providers_own_bodies_are_recorded_through_serve(rapport):
    key = _setup(rapport)
    for name in ("postmark_documented.json", "postmark_anymail.json", "postmark_check_payload.json"):
        assert outcome(post_mail(rapport, "postmark", key, fixture(name), "application/json")) in \
            {"email", "already recorded"}, name
    multipart = "multipart/form-data; boundary=xYzZY"
    for name in ("sendgrid_default.json", "sendgrid_raw.json"):
        assert outcome(post_mail(rapport, "sendgrid", key, _multipart(fields(name)), multipart)) in \
            {"email", "already recorded"}, name
    assert outcome(post_mail(rapport, "sendgrid", key, fixture("sendgrid_charsets.form"), multipart)) == "email"
    for name in ("mailgun_route.json", "mailgun_mime.json"):
        form = urlencode(fields(name)).encode()
        assert outcome(post_mail(rapport, "mailgun", key, form, "application/x-www-form-urlencoded")) in \
            {"email", "already recorded"}, name
    assert _touches_of(rapport, "Postmark") and _touches_of(rapport, "Example Org")
    assert {t.direction for t in _touches_of(rapport, "Example Org")} == {"in"}
    week = rapport.command("mail").text
    assert "Captured" in week and "Captured 0" not in week


def test_raw_messages_forwards_and_invitations_through_the_mime_webhook(rapport):
    key = _setup(rapport)
    outcomes = {}
    for path in [*sorted(FIXTURES.glob("*.eml")), FIXTURES / "cpython_msg_02.txt"]:
        reply = post_mail(rapport, "mime", key, path.read_bytes())
        outcomes[path.name] = outcome(reply)
        assert outcomes[path.name] in OUTCOMES, (path.name, outcomes[path.name])
    # a teammate's forward to the key alone counts as the client's own message (four originals, forwarded from four
    # mail clients), and a forward of a forward of one of them is that one again
    assert {outcomes[n] for n in ("forward_gmail.eml", "forward_outlook.eml", "forward_apple_mail.eml",
                                  "forward_new_outlook.eml")} == {"email"}
    assert outcomes["forward_twice_gmail.eml"] == "already recorded"
    acme = _touches_of(rapport, "Acme")
    assert len(acme) == 4 and {t.direction for t in acme} == {"in"}  # john.doe@acme.com's, never sam@agency's
    assert {t.occurred_at.date().isoformat() for t in acme} == {"2021-10-25", "2021-10-27", "2021-10-28"}
    assert outcomes["forward_attached.eml"] in {"email", "already recorded"}
    assert outcomes["forward_attached_twice.eml"] == "already recorded"  # the same original inside two forwards
    # invitations are meetings: a Google invitation (sent through a list, yet an invitation) and an all-day one
    assert outcomes["google_invite_via_list.eml"] == "meeting"
    assert outcomes["all_day_invitation.eml"] == "meeting"
    assert outcomes["cpython_msg_02.txt"] == "unmatched"
    with rapport.database.sessions() as session:
        assert session.scalar(select(MailMeeting.all_day).where(MailMeeting.client_id == select(Client.id).where(
            Client.name == "Example Com").scalar_subquery())) is True


def test_raw_messages_over_smtp_to_the_mail_server(database, database_url, tmp_path):
    from tests.test_mail_transports import KEY, _start_mail_server, _stop, _workspace

    _workspace(database)  # Acme Corp at acme.com, our domain agency.example
    process, port = _start_mail_server(tmp_path, database_url)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for path in sorted(FIXTURES.glob("*.eml")):
                data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # on the wire: CRLF
                refused = smtp.sendmail("bounce@agency.example", [f"{KEY}@mail.example.com"], data)
                assert refused == {}, path.name
    finally:
        output = _stop(process)
    with database.sessions() as session:
        touches = list(session.scalars(select(Interaction).where(Interaction.source == "mail")))
    assert [t.direction for t in touches] == ["in"] * 4  # john.doe@acme.com's four messages, each once
    assert "john.doe@acme.com" not in output


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_calendars_and_an_mbox_through_import_mail(database, database_url, tmp_path):
    from storage.mail import add_client_domain
    from storage.workspaces import find_workspace
    from tests.test_mail_transports import _workspace

    _workspace(database)
    with database.sessions.begin() as session:
        workspace = find_workspace(session, "T0TEAM", None)
        client = Client(workspace_id=workspace.id, name="Example Com", name_key="example com", owner_id="UANA",
                        created_at=workspace.created_at, created_by="UANA")
        session.add(client)
        session.flush()
        add_client_domain(session, workspace.id, client.id, "example.com", "UANA", workspace.created_at)
    folder = tmp_path / "calendars"
    folder.mkdir()
    for name in ("libical_incoming.ics", "exchange_w_europe_request.ics", "cpython_mailbox_01.mbox"):
        (folder / name).write_bytes(fixture(name))
    done = run(["import-mail", str(folder), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    # cpython's mbox message has no address Rapport can read: named, not guessed at
    assert "recorded 2 (1 meeting, 1 cancellation); skipped 1: 1 unreadable" in done.stdout, done.stdout
    assert "cpython_mailbox_01.mbox, message 1: unreadable" in done.stdout
    with database.sessions() as session:
        meetings = list(session.scalars(select(MailMeeting).order_by(MailMeeting.start)))
        touches = list(session.scalars(select(Interaction).where(Interaction.kind == "meeting")))
        signs = list(session.scalars(select(Interaction).where(Interaction.kind == "cancel")))
    # libical's stream: one UID rescheduled 20:00 -> 19:00, an obsolete lower SEQUENCE ignored, then cancelled by a
    # CANCEL with no DTSTART and a lower SEQUENCE; four others stand. Exchange's W. Europe Standard Time request:
    # 12:00 in Berlin is 11:00 UTC.
    live = sorted(m.start.isoformat() for m in meetings if m.cancelled_at is None)
    assert live == ["1997-07-01T10:00:00+00:00"] * 3 + ["1997-07-01T19:00:00+00:00", "2011-12-08T11:00:00+00:00"]
    [cancelled] = [m for m in meetings if m.cancelled_at is not None]
    assert cancelled.start.isoformat() == "1997-07-01T19:00:00+00:00" and cancelled.sequence == 2
    assert len(touches) == 5 and signs == []  # all long past; a bare .ics says nothing of when a cancellation came
    again = run(["import-mail", str(folder), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert "recorded 0" in again.stdout
    json.dumps(done.stdout)
