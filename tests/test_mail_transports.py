"""Capture from email over its other ways in (PRODUCT.md §4.15, §5): `rapport mail-server` spoken to with smtplib,
`rapport import-mail` of a generated mbox run twice, tenants, and the database going away mid-stream."""

from __future__ import annotations

import mailbox
import smtplib
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.bulk.csv_io import pick_workspace
from bot.database import open_database
from bot.settings import Settings
from storage.mail import add_client_domain, set_key, set_our_domains
from storage.models import Client, Interaction
from tests.cli import RAPPORT, clean_env, run
from tests.conftest import SIGNING_SECRET, _served
from tests.mail_helpers import key_of, message, outcome, post_mail
from tests.tcp_proxy import TcpProxy
from tests.test_serve import _free_port

OURS = "ana@agency.example"
KEY = "k" * 8 + "0123456789abcdef"


def _workspace(database, team: str = "T0TEAM", key: str = KEY) -> None:
    """A workspace with an inbound key, our domain, and Acme Corp at acme.com."""
    now = datetime.now(UTC)
    with database.sessions.begin() as session:
        workspace = pick_workspace(session, team, now)
        client = Client(workspace_id=workspace.id, name="Acme Corp", name_key="acme corp", owner_id="UANA",
                        created_at=now, created_by="UANA")
        session.add(client)
        session.flush()
        add_client_domain(session, workspace.id, client.id, "acme.com", "UANA", now)
        set_our_domains(session, workspace.id, ["agency.example"], "UADMIN", now)
        set_key(session, workspace.id, key, "UADMIN", now)


def _touches(database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Interaction).where(Interaction.source == "mail")) or 0


def _start_mail_server(tmp_path, url: str) -> tuple[subprocess.Popen, int]:  # type: ignore[type-arg]
    port = _free_port()
    env = clean_env(tmp_path, DATABASE_URL=url, RAPPORT_SMTP_PORT=str(port), RAPPORT_MAIL_DOMAIN="mail.example.com")
    process = subprocess.Popen([RAPPORT, "mail-server"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read() if process.stdout else ""
                pytest.fail("rapport mail-server did not come up:\n" + output)
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> str:  # type: ignore[type-arg]
    process.terminate()
    output, _ = process.communicate(timeout=30)
    return str(output)


def test_mail_server_records_a_message_and_refuses_unknown_keys_at_rcpt(database, database_url, tmp_path):
    _workspace(database)
    process, port = _start_mail_server(tmp_path, database_url)
    try:
        mail = message("bob@acme.com", [OURS], datetime.now(UTC) - timedelta(hours=1))
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.send_message(mail, from_addr="bob@acme.com", to_addrs=["nobodyatall12345678@mail.example.com"])
            assert next(iter(refused.value.recipients.values()))[0] == 550
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.send_message(mail, from_addr="bob@acme.com", to_addrs=[f"{KEY}@elsewhere.example"])
            assert smtp.send_message(mail, from_addr="bob@acme.com", to_addrs=[f"{KEY}+bcc@mail.example.com"]) == {}
        assert _touches(database) == 1  # committed before the 250 came back
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:  # a second delivery of it is not a second touch
            smtp.send_message(mail, from_addr="bob@acme.com", to_addrs=[f"{KEY}@mail.example.com"])
        assert _touches(database) == 1
    finally:
        output = _stop(process)
    assert "bob@acme.com" not in output and KEY not in output  # nothing of a message, nor the key, is logged


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_with_the_database_away_smtp_answers_451_and_webhooks_503_and_nothing_is_half_recorded(
        database, database_url, fake_slack, tmp_path):
    _workspace(database)
    upstream = make_url(database_url)
    proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
    through = upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    process, port = _start_mail_server(tmp_path, through)
    proxied = open_database(Settings(database_url=through))
    settings = Settings(database_url=through, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url)
    try:
        with _served(settings, proxied, fake_slack) as server:
            now = datetime.now(UTC)
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.ehlo()
                smtp.mail("bob@acme.com")
                assert smtp.rcpt(f"{KEY}@mail.example.com")[0] == 250
                proxy.cut()
                code, _ = smtp.data(bytes(message("bob@acme.com", [OURS], now)))
                assert code == 451
            away = post_mail(server, "mime", KEY, bytes(message("bob@acme.com", [OURS], now)))
            assert away.status == 503 and "nothing was saved" in away.json()["error"]
            proxy.restore()
            assert outcome(post_mail(server, "mime", KEY, bytes(message("bob@acme.com", [OURS], now)))) == "email"
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.send_message(message("bob@acme.com", [OURS], now), to_addrs=[f"{KEY}@mail.example.com"])
        assert _touches(database) == 2
        with database.sessions() as session:  # the client's facts agree with its touches: nothing half-written
            client = session.scalars(select(Client)).one()
            assert client.last_their_contact_at is not None
    finally:
        _stop(process)
        proxied.engine.dispose()
        proxy.close()


def test_import_mail_of_a_generated_mbox_twice_records_once(database, database_url, tmp_path):
    _workspace(database)
    path = tmp_path / "mailbox.mbox"
    box = mailbox.mbox(str(path))
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    for i in range(120):
        at = start + timedelta(hours=6 * i)
        kind = i % 4
        if kind == 0:
            box.add(message("bob@acme.com", [OURS], at))
        elif kind == 1:
            box.add(message(OURS, ["bob@acme.com"], at))
        elif kind == 2:
            box.add(message("news@vendor.example", [OURS], at, headers={"List-Id": "<news.vendor.example>"}))
        else:
            box.add(message(OURS, ["kim@agency.example"], at))
    box.flush()
    first = run(["import-mail", str(path), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "read 120; recorded 60 (60 emails); skipped 60: 30 auto-replies, bulk and list mail; " \
           "30 among your own people only" in first.stdout
    second = run(["import-mail", str(path), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert "read 120; recorded 0; skipped 120: 60 already recorded" in second.stdout
    assert _touches(database) == 60
    with database.sessions() as session:
        client = session.scalars(select(Client)).one()
        assert client.last_their_contact_at is not None and client.last_their_contact_at.year == 2026


def test_two_workspaces_each_record_their_own_touch_and_a_key_is_one_workspaces(rapport):
    for team in ("T1", "T2"):
        rapport.command("add Acme Corp", team=team)
        rapport.command("domain acme acme.com", team=team)
    first, second = key_of(rapport, "T1"), key_of(rapport, "T2")
    assert first != second
    mail = bytes(message("bob@acme.com", [OURS], rapport.clock.now, message_id="<same@acme.com>"))
    assert outcome(post_mail(rapport, "mime", first, mail)) == "email"
    assert outcome(post_mail(rapport, "mime", second, mail)) == "email"  # the other workspace's own touch
    assert outcome(post_mail(rapport, "mime", first, mail)) == "already recorded"
    with rapport.database.sessions() as session:
        rows = session.execute(select(Interaction.workspace_id, Client.workspace_id).join(
            Client, Client.id == Interaction.client_id)).all()
    assert len(rows) == 2 and all(a == b for a, b in rows) and len({a for a, _ in rows}) == 2


# --- whatever arrives, never a 500 and never half a message ---------------------------------------------------------

ADDRESSES = st.sampled_from(["bob@acme.com", OURS, "kim@agency.example", "x@vendor.example", "jane@gmail.com",
                             "Bob <bob@acme.com>", '"Doe, Jane" <jane@ACME.com>', "=?utf-8?q?B=C3=B6b?= <b@acme.com>",
                             "not an address", "@", "<>", "bob@", "a@b@c", "bob@acme.com,,", "\u00e9@acme.com"])
DATES = st.sampled_from(["Mon, 16 Nov 2026 10:00:00 +0000", "Mon, 16 Nov 2026 10:00:00", "yesterday",
                         "Tue, 31 Feb 2026 10:00:00 +0000", "2026-11-16T10:00:00-04:00", "", "Mon, 16 Nov 99999 1:1:1"])


@st.composite
def raw_messages(draw: st.DrawFn, depth: int = 0) -> bytes:
    headers: list[tuple[str, str]] = []
    for name, values in (("From", ADDRESSES), ("Date", DATES), ("Message-ID", st.sampled_from(
            ["<a@b>", "<a@b>", "", "garbage", "<" + "x" * 900 + "@b>"]))):
        for _ in range(draw(st.integers(0, 2))):  # missing, once, or duplicated
            headers.append((name, draw(values)))
    headers.append(("To", ", ".join(draw(st.lists(ADDRESSES, max_size=draw(st.sampled_from([3, 300])))))))
    if draw(st.booleans()):
        headers.append(("Cc", ", ".join(draw(st.lists(ADDRESSES, max_size=5)))))
    for name in draw(st.lists(st.sampled_from(["Auto-Submitted", "Precedence", "List-Id", "X-Autoreply"]),
                              max_size=2)):
        headers.append((name, draw(st.sampled_from(["no", "auto-replied", "bulk", "list", "<l.acme.com>", "yes"]))))
    headers.append(("Subject", draw(st.sampled_from(["Hi", "=?utf-8?b?w6k=?=", "=?bogus?x?zz?=", "\u00e9t\u00e9"]))))
    head = "".join(f"{n}: {v}\r\n" for n, v in headers).encode("utf-8", "surrogateescape")
    if depth < 3 and draw(st.booleans()):
        inner = draw(raw_messages(depth + 1))
        return head + (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
                       b"Content-Type: text/plain\r\n\r\nFYI\r\n--zz\r\nContent-Type: message/rfc822\r\n\r\n" + inner +
                       b"\r\n--zz--\r\n")
    return head + b"\r\n" + draw(st.sampled_from([b"Hello", b"", b"\xff\xfe binary"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(raw=raw_messages())
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_any_header_set_through_the_webhook_is_a_200_or_a_400_never_half_recorded(rapport, raw):
    if not hasattr(rapport, "mail_key"):
        rapport.command("add Acme Corp")
        rapport.command("domain acme acme.com")
        rapport.command("mail ours agency.example", user="UADMIN")
        rapport.mail_key = key_of(rapport)  # type: ignore[attr-defined]
    before = _touches(rapport.database)
    reply = post_mail(rapport, "mime", rapport.mail_key, raw)  # type: ignore[attr-defined]
    assert reply.status in (200, 400), reply.body
    after = _touches(rapport.database)
    if reply.status == 400:
        assert after == before
    elif reply.json()["outcome"] == "email":
        assert after == before + 1  # one client here: one touch, whole
    else:
        assert after == before
    with rapport.database.sessions() as session:
        client = session.scalars(select(Client)).one()
        latest = session.scalar(select(func.max(Interaction.occurred_at)).where(Interaction.client_id == client.id))
        assert client.last_contact_at == latest  # its facts were brought up to date in the same transaction


def test_rapport_serve_answers_a_providers_post_once_it_is_committed(tmp_path, fake_slack):
    from tests.test_serve import start_serve, stop_serve

    database = open_database(Settings(database_url=f"sqlite:///{tmp_path / 'rapport.db'}"))
    _workspace(database)
    process, base, _ = start_serve(tmp_path, fake_slack.api_url, RAPPORT_SCHEDULER="off")
    try:
        class Served:  # what post_mail needs of a server
            pass
        served = Served()
        served.base = base  # type: ignore[attr-defined]
        mail = bytes(message("bob@acme.com", [OURS], datetime.now(UTC)))
        assert outcome(post_mail(served, "mime", KEY, mail)) == "email"  # type: ignore[arg-type]
        assert _touches(database) == 1
        assert post_mail(served, "mime", "x" * 24, mail).status == 404  # type: ignore[arg-type]
    finally:
        output = stop_serve(process)
        database.engine.dispose()
    assert "/mail/mime/[redacted]" in output  # the access log writes the path with the key masked
    assert KEY not in output and "bob@acme.com" not in output


def test_import_mail_reads_a_folder_of_eml_files_and_names_what_it_could_not_read(database, database_url, tmp_path):
    _workspace(database)
    folder = tmp_path / "exported"
    (folder / "2026").mkdir(parents=True)
    now = datetime.now(UTC)
    (folder / "2026" / "a.eml").write_bytes(bytes(message("bob@acme.com", [OURS], now - timedelta(days=3))))
    (folder / "b.eml").write_bytes(bytes(message(OURS, ["bob@acme.com"], now - timedelta(days=2))))
    (folder / "c.eml").write_bytes(b"\x00\x01 not a message")
    (folder / ".hidden.eml").write_bytes(bytes(message("bob@acme.com", [OURS], now)))
    done = run(["import-mail", str(folder), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert "c.eml: unreadable:" in done.stdout
    assert "read 3; recorded 2 (2 emails); skipped 1: 1 unreadable" in done.stdout
    missing = run(["import-mail", str(tmp_path / "nowhere.mbox"), "--team", "T0TEAM"], tmp_path,
                  DATABASE_URL=database_url)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_import_mail_reads_a_maildirs_folders_and_says_which(database, database_url, tmp_path):
    """Dovecot's and Courier's Maildir++: the inbox in cur/ and new/, the other folders as hidden `.Sent`,
    `.Archive.2024`. Our sent mail is read (unanswered outreach is ours); Trash, Junk and Drafts are left out and
    named; tmp/ (deliveries not finished) and Dovecot's index and control files are not mail."""
    _workspace(database)
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(str(root))
    now = datetime.now(UTC)
    box.add(message("bob@acme.com", [OURS], now - timedelta(days=20)))
    sent = box.add_folder("Sent")
    for days in (12, 10, 8):
        sent.add(message(OURS, ["bob@acme.com"], now - timedelta(days=days)))
    box.add_folder("Archive.2024").add(message("bob@acme.com", [OURS], now - timedelta(days=300)))
    for name in ("Trash", "Junk", "Drafts", "Archive.Trash"):
        box.add_folder(name).add(message(OURS, ["bob@acme.com"], now - timedelta(days=1)))
    (root / "tmp" / "1700000000.M1P1.host").write_bytes(bytes(message("bob@acme.com", [OURS], now)))
    (root / "dovecot-uidlist").write_text("3 V1700000000 N5 G3f2a\n1 :1700000000.M1P1.host\n")
    (root / "dovecot.index.log").write_bytes(b"\x01\x02\x00\x00" * 64)
    (root / "subscriptions").write_text("V\t2\n\nSent\nArchive.2024\n")
    (root / "courierimapkeywords").mkdir()
    (root / "courierimapkeywords" / ":list").write_text("$Forwarded\n")
    done = run(["import-mail", str(root), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert "read 5; recorded 5 (5 emails); skipped 0" in done.stdout
    assert "Folders read: INBOX, Archive.2024, Sent; left out: Archive.Trash (deleted mail), Drafts (never sent), " \
           "Junk (spam), Trash (deleted mail)" in done.stdout
    with database.sessions() as session:
        client = session.scalars(select(Client)).one()
        assert client.unanswered_count == 3  # our three from Sent, after their last: unanswered outreach
        directions = session.scalars(select(Interaction.direction).where(Interaction.source == "mail")
                                     .order_by(Interaction.occurred_at)).all()
    assert directions == ["in", "in", "out", "out", "out"]
    # one folder given as PATH is read, whatever its name
    trash = run(["import-mail", str(root / ".Trash"), "--team", "T0TEAM"], tmp_path, DATABASE_URL=database_url)
    assert "read 1; recorded 1 (1 email)" in trash.stdout and "Folders read: Trash" in trash.stdout


def test_nothing_of_a_message_but_who_when_and_which_way_is_stored_through_webhook_and_smtp(rapport, database_url,
                                                                                           tmp_path):
    """After captures through the webhook and over SMTP (an email, a forward, an invitation, a reply from an
    address beyond ASCII, mail nobody matched), no text column of any table holds a subject, a body, a Message-ID,
    an invitation's UID or summary, a display name, or an address that matched nothing."""
    from email import policy

    from storage.models import Base
    from tests.mail_helpers import forwarded, invitation

    rapport.command("add Acme Corp")
    rapport.command("domain acme acme.com")
    rapport.command("add Bücher")
    rapport.command("domain bücher bücher.example")
    rapport.command("mail ours agency.example", user="UADMIN")
    key = key_of(rapport)
    now = rapport.clock.now
    secrets = ["Secretsubject", "Secretbody", "secret-mid", "secret-uid", "Secretsummary", "Secretname",
               "Secretfwd", "random.person", "cc-only", "vendor.example", "ünal"]
    first = message("Bob Secretname <bob@acme.com>", [OURS], now - timedelta(days=2), cc=["cc-only@vendor.example"],
                    subject="Secretsubject", body="Secretbody", message_id="<secret-mid-1@acme.com>")
    assert outcome(post_mail(rapport, "mime", key, bytes(first))) == "email"
    original = message("bob@acme.com", [OURS], now - timedelta(days=4), subject="Secretsubject",
                       body="Secretbody", message_id="<secret-mid-2@acme.com>")
    forward = forwarded(OURS, f"{key}@mail.example.com", now, original)
    forward.replace_header("Subject", "Secretfwd")
    assert outcome(post_mail(rapport, "mime", key, bytes(forward))) == "email"
    invite = invitation("bob@acme.com", [OURS], now, uid="secret-uid-1@acme.com", start=now + timedelta(days=3),
                        summary="Secretsummary", message_id="<secret-mid-3@acme.com>")
    assert outcome(post_mail(rapport, "mime", key, bytes(invite))) == "meeting"
    stranger = message("random.person@vendor.example", [OURS], now, subject="Secretsubject", body="Secretbody",
                       message_id="<secret-mid-4@vendor.example>")
    assert outcome(post_mail(rapport, "mime", key, bytes(stranger))) == "unmatched"
    process, port = _start_mail_server(tmp_path, database_url)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            reply = message("Ünal Secretname <ünal@bücher.example>", [OURS], now - timedelta(hours=1),
                            subject="Secretsubject", body="Secretbody", message_id="<secret-mid-5@bücher.example>")
            assert smtp.sendmail("ünal@bücher.example", [f"{key}@mail.example.com"],
                                 reply.as_bytes(policy=policy.SMTPUTF8), mail_options=["SMTPUTF8"]) == {}
            ours = message(OURS, ["Bob Secretname <bob@acme.com>", "random.person@gmail.com"], now,
                           subject="Secretsubject", body="Secretbody", message_id="<secret-mid-6@agency.example>")
            assert smtp.send_message(ours, to_addrs=[f"{key}@mail.example.com"]) == {}
    finally:
        _stop(process)
    with rapport.database.sessions() as session:
        touches = session.execute(select(Client.name, Interaction.direction).join(
            Client, Client.id == Interaction.client_id).where(Interaction.source == "mail")
            .order_by(Interaction.occurred_at)).all()
        assert [tuple(t) for t in touches] == [("Acme Corp", "in"), ("Acme Corp", "in"), ("Bücher", "in"),
                                               ("Acme Corp", "out")]
        texts = [(table.name, column, value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
                 for table in Base.metadata.sorted_tables for row in session.execute(table.select()).mappings()
                 for column, value in row.items() if isinstance(value, str | bytes)]
    assert any(text == "xn--bcher-kva.example" for _t, _c, text in texts)  # the scan sees what is stored
    assert [(t, c, s) for t, c, text in texts for s in secrets if s.lower() in text.lower()] == []
