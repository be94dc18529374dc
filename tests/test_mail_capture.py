"""Capture from email (PRODUCT.md §4.15) through the real surfaces: `/client` commands and provider webhooks posted
to the app `serve` runs, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select

from storage.models import ClientDomain, Commitment, Interaction, MailMeeting
from tests.conftest import MAIL_DOMAIN, PUBLIC_URL
from tests.mail_helpers import forwarded, key_of, message, outcome, post_mail

OURS = "ana@agency.example"


def _setup(rapport, *clients: str) -> str:
    """Clients with their domains, our own domain set by an admin; the workspace's key."""
    for name in clients:
        rapport.command(f"add {name}")
        rapport.command(f"domain {name} {name.split()[0].lower()}.com")
    rapport.command("mail ours agency.example", user="UADMIN")
    return key_of(rapport)


def _touches(rapport, **where):
    with rapport.database.sessions() as session:
        stmt = select(Interaction).where(Interaction.source == "mail").order_by(Interaction.occurred_at)
        for name, value in where.items():
            stmt = stmt.where(getattr(Interaction, name) == value)
        return list(session.scalars(stmt))


def test_client_mail_shows_the_address_the_webhooks_and_the_week(rapport):
    shown = rapport.command("mail").text
    key = key_of(rapport)
    assert f"{key}@{MAIL_DOMAIN}" in shown
    for provider in ("postmark", "sendgrid", "mailgun", "mime"):
        assert f"{PUBLIC_URL}/mail/{provider}/{key}" in shown
    assert "Your own domains are not set" in shown and "Captured 0" in shown
    assert key_of(rapport) == key  # the same key every time until it is rotated


def test_rotating_the_key_is_for_admins_and_refuses_the_old_one(rapport):
    key = _setup(rapport, "Acme Corp")
    now = rapport.clock.now
    assert outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], now)))) == "email"
    refused = rapport.command("mail rotate", user="UANA")
    assert "Only a workspace admin can issue a new inbound mail key" in refused.text
    assert key_of(rapport) == key
    rotated = rapport.command("mail rotate", user="UADMIN").text
    assert "old one are refused from now on" in rotated
    new = key_of(rapport)
    assert new != key and len(new) >= 16
    gone = post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], now)))
    assert gone.status == 404 and "unknown key" in gone.json()["error"]
    assert outcome(post_mail(rapport, "mime", new, bytes(message("bob@acme.com", [OURS], now)))) == "email"


def test_emails_count_like_logged_ones_quiet_unanswered_and_the_card(rapport):
    key = _setup(rapport, "Acme Corp")
    now = rapport.clock.now
    for days in (12, 10, 8):  # three of ours, no answer: unanswered outreach
        reply = post_mail(rapport, "mime", key, bytes(message(OURS, ["bob@acme.com"], now - timedelta(days=days))))
        assert outcome(reply) == "email"
    card = rapport.command("status acme").text
    assert "Unanswered outreach: 3" in card
    assert "email (from us, no reply yet)" in card and "to them: " in card
    assert outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], now - timedelta(days=1)))))\
        == "email"
    card = rapport.command("status acme").text
    assert "Unanswered outreach" not in card
    assert "Last heard from them" in card and "Last email from them" in card
    assert [(t.kind, t.direction) for t in _touches(rapport)] == [("email", "out")] * 3 + [("email", "in")]
    week = rapport.command("mail").text
    assert "Captured 4: 4 emails" in week


def test_an_email_to_them_is_the_status_update_an_issue_is_owed(rapport):
    key = _setup(rapport, "Acme Corp")
    rapport.command("issue acme invoices show the wrong VAT")
    later = rapport.clock.now + timedelta(days=3)
    rapport.clock.now = later
    assert outcome(post_mail(rapport, "mime", key, bytes(message(OURS, ["bob@acme.com"], later)))) == "email"
    with rapport.database.sessions() as session:
        issue = session.scalars(select(Commitment)).one()
        assert issue.update_since == later.replace(microsecond=0)


def test_what_is_not_a_touch_is_counted_by_reason_and_nothing_is_stored(rapport):
    rapport.command("add Acme Corp")
    rapport.command("domain acme acme.com")
    key = key_of(rapport)
    now = rapport.clock.now
    # before our own domains are set, mail from someone who is not a client's is never guessed to be ours
    assert outcome(post_mail(rapport, "mime", key, bytes(message(OURS, ["bob@acme.com"], now)))) == "ours unset"
    rapport.command("mail ours agency.example", user="UADMIN")
    cases = [
        (message(OURS, ["kim@agency.example"], now), "internal"),
        (message("news@vendor.example", [OURS], now), "unmatched"),
        (message("bob@acme.com", [OURS], now, headers={"Auto-Submitted": "auto-replied"}), "automated"),
        (message("list@acme.com", [OURS], now, headers={"List-Id": "<news.acme.com>"}), "automated"),
        (message("sales@vendor.example", ["bob@acme.com"], now, cc=[OURS]), "third party"),
    ]
    for mail, reason in cases:
        assert outcome(post_mail(rapport, "mime", key, bytes(mail))) == reason
    assert _touches(rapport) == []
    week = rapport.command("mail").text
    assert "Captured 0" in week and "skipped 6" in week
    assert "2 auto-replies, bulk and list mail" in week and "1 among your own people only" in week
    assert "1 not from a client, and your own domains are not set" in week


def test_a_message_is_recorded_once_however_often_it_arrives(rapport):
    key = _setup(rapport, "Acme Corp")
    mail = bytes(message(OURS, ["bob@acme.com"], rapport.clock.now, message_id="<thread-1@agency.example>"))
    outcomes = [outcome(post_mail(rapport, "mime", key, mail)) for _ in range(3)]  # three teammates BCC it
    assert outcomes == ["email", "already recorded", "already recorded"]
    assert len(_touches(rapport)) == 1
    assert "1 already recorded" not in rapport.command("mail").text  # 2 of them
    assert "2 already recorded (a copy or a retry)" in rapport.command("mail").text


def test_one_message_to_two_clients_is_a_touch_for_each(rapport):
    key = _setup(rapport, "Acme Corp", "Globex Inc")
    mail = message(OURS, ["bob@acme.com", "ann@globex.com"], rapport.clock.now)
    assert outcome(post_mail(rapport, "mime", key, bytes(mail))) == "email"
    touches = _touches(rapport)
    assert len(touches) == 2 and {t.direction for t in touches} == {"out"}
    assert len({t.client_id for t in touches}) == 2


def test_a_forward_of_ours_to_the_key_alone_is_recorded_as_the_original(rapport):
    key = _setup(rapport, "Acme Corp")
    now = rapport.clock.now
    original = message("bob@acme.com", [OURS], now - timedelta(days=5))
    forward = forwarded(OURS, f"{key}@{MAIL_DOMAIN}", now, original)
    assert outcome(post_mail(rapport, "mime", key, bytes(forward))) == "email"
    [touch] = _touches(rapport)
    assert touch.direction == "in" and touch.occurred_at == (now - timedelta(days=5)).replace(microsecond=0)
    # the same original BCC'd directly too is the same message
    assert outcome(post_mail(rapport, "mime", key, bytes(original))) == "already recorded"


def test_a_contact_address_matches_even_on_a_free_mail_domain_which_is_never_a_clients(rapport):
    rapport.command("add Acme Corp")
    refused = rapport.command("domain acme gmail.com").text
    assert "free-mail domain" in refused and "/client contact Acme Corp" in refused
    added = rapport.command("contact acme Jane Doe primary <mailto:Jane.Doe@gmail.com|Jane.Doe@gmail.com>").text
    assert "jane.doe@gmail.com" in added
    key = key_of(rapport)
    now = rapport.clock.now
    assert outcome(post_mail(rapport, "mime", key, bytes(message("jane.doe@gmail.com", [OURS], now)))) == "email"
    assert outcome(post_mail(rapport, "mime", key, bytes(message("stranger@gmail.com", [OURS], now)))) == "unmatched"
    [touch] = _touches(rapport)
    assert touch.direction == "in" and touch.contact_id is not None


def test_a_domain_belongs_to_one_client_and_removing_it_is_for_the_owner_or_an_admin(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Globex Inc")
    assert "anyone at acme.com (and its subdomains) now counts as a touch with Acme Corp" in \
        rapport.command("domain acme Acme.COM").text
    assert "already Acme Corp's domain" in rapport.command("domain globex acme.com").text
    assert "acme.com" in rapport.command("domain acme").text
    assert "Only Acme Corp's owner or a workspace admin" in rapport.command("domain acme acme.com remove",
                                                                          user="UBEN").text
    assert "acme.com no longer counts for Acme Corp" in rapport.command("domain acme acme.com remove").text
    assert "not a domain" in rapport.command("domain acme not_a_domain").text


def test_postmark_sendgrid_and_mailgun_bodies_are_recorded(rapport):
    key = _setup(rapport, "Acme Corp")
    now = rapport.clock.now
    postmark = {"FromFull": {"Email": "bob@acme.com", "Name": "Bob"}, "ToFull": [{"Email": OURS, "Name": ""}],
                "CcFull": [], "Date": "Mon, 16 Nov 2026 10:00:00 +0000", "Subject": "Hello",
                "MessageID": "22c74902-a0c1-4511-804f-341342852c90", "TextBody": "Hi",
                "Headers": [{"Name": "Message-ID", "Value": "<pm-1@acme.com>"}]}
    assert outcome(post_mail(rapport, "postmark", key, json.dumps(postmark).encode(), "application/json")) == "email"
    boundary = "xYzZY"
    fields = {"headers": f"From: bob@acme.com\nTo: {OURS}\nDate: Mon, 16 Nov 2026 11:00:00 +0000\n"
                         "Message-ID: <sg-1@acme.com>\nSubject: Hi", "from": "bob@acme.com", "to": OURS,
              "subject": "Hi", "text": "Hello", "envelope": json.dumps({"to": [OURS], "from": "bob@acme.com"})}
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in fields.items()) + f"--{boundary}--\r\n"
    assert outcome(post_mail(rapport, "sendgrid", key, body.encode(),
                             f"multipart/form-data; boundary={boundary}")) == "email"
    raw = bytes(message("bob@acme.com", [OURS], now, message_id="<sg-raw@acme.com>")).decode()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{raw}\r\n--{boundary}--\r\n")
    assert outcome(post_mail(rapport, "sendgrid", key, body.encode(),
                             f"multipart/form-data; boundary={boundary}")) == "email"
    headers = [["From", "Bob <bob@acme.com>"], ["To", OURS], ["Date", "Mon, 16 Nov 2026 12:00:00 +0000"],
               ["Message-Id", "<mg-1@acme.com>"]]
    form = urlencode({"recipient": f"{key}@{MAIL_DOMAIN}", "sender": "bob@acme.com", "from": "Bob <bob@acme.com>",
                      "subject": "Hi", "body-plain": "Hello", "message-headers": json.dumps(headers)})
    assert outcome(post_mail(rapport, "mailgun", key, form.encode(), "application/x-www-form-urlencoded")) == "email"
    # with an attachment Mailgun posts multipart/form-data, the file as a part of its own
    headers[3] = ["Message-Id", "<mg-2@acme.com>"]
    parts = {"recipient": f"{key}@{MAIL_DOMAIN}", "message-headers": json.dumps(headers), "attachment-count": "1"}
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in parts.items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"deck.pdf\"\r\n"
             f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 not really\r\n--{boundary}--\r\n")
    assert outcome(post_mail(rapport, "mailgun", key, body.encode(),
                             f"multipart/form-data; boundary={boundary}")) == "email"
    assert len(_touches(rapport)) == 5


def test_bad_requests_get_a_one_line_reason_and_change_nothing(rapport):
    key = _setup(rapport, "Acme Corp")
    assert post_mail(rapport, "hotmail", key, b"x").status == 404
    assert post_mail(rapport, "mime", "nope", b"x").status == 404
    assert post_mail(rapport, "mime", "a" * 24, b"x").status == 404
    bad = post_mail(rapport, "postmark", key, b"{not json", "application/json")
    assert bad.status == 400 and "\n" not in bad.json()["error"]
    bad = post_mail(rapport, "sendgrid", key, b"--b\r\nno headers", "multipart/form-data; boundary=b")
    assert bad.status == 400
    bad = post_mail(rapport, "mailgun", key, b"recipient=x", "application/x-www-form-urlencoded")
    assert bad.status == 400
    # over 10 MiB is refused from its declared length, before a byte of it is read
    connection = http.client.HTTPConnection(rapport.base.removeprefix("http://"), timeout=10)
    connection.putrequest("POST", f"/mail/mime/{key}")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    huge = connection.getresponse()
    assert huge.status == 413 and "over" in json.loads(huge.read())["error"]
    connection.close()
    assert _touches(rapport) == []


def test_forgetting_a_client_erases_its_captured_mail(rapport):
    key = _setup(rapport, "Acme Corp")
    now = rapport.clock.now
    outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], now))))
    forget = next(b for b in __import__("tests.conftest", fromlist=["buttons"]).buttons(
        rapport.command("forget acme")) if b["action_id"] == "forget_confirm")
    rapport.click(forget)
    with rapport.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == 0
        assert session.scalar(select(func.count()).select_from(ClientDomain)) == 0
        assert session.scalar(select(func.count()).select_from(MailMeeting)) == 0


def _mailgun_form(signing_key: str, timestamp: int, token: str, mail_id: str) -> bytes:
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    headers = [["From", "bob@acme.com"], ["To", OURS], ["Date", "Mon, 16 Nov 2026 12:00:00 +0000"],
               ["Message-Id", mail_id]]
    return urlencode({"timestamp": str(timestamp), "token": token, "signature": signature,
                      "message-headers": json.dumps(headers)}).encode()


def test_mailgun_signatures_are_checked_when_a_signing_key_is_set(database, fake_slack, database_url):
    from bot.settings import Settings
    from tests.conftest import SIGNING_SECRET, _served

    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, public_url=PUBLIC_URL, mail_domain=MAIL_DOMAIN,
                        mailgun_signing_key="mg-signing-key")
    with _served(settings, database, fake_slack) as rapport:
        key = _setup(rapport, "Acme Corp")
        form = "application/x-www-form-urlencoded"
        now = int(time.time())
        good = _mailgun_form("mg-signing-key", now, "t" * 50, "<mg-a@acme.com>")
        assert outcome(post_mail(rapport, "mailgun", key, good, form)) == "email"
        replayed = post_mail(rapport, "mailgun", key, good, form)
        assert replayed.status == 401 and "replay" in replayed.json()["error"]
        forged = _mailgun_form("wrong-key", now, "u" * 50, "<mg-b@acme.com>")
        assert post_mail(rapport, "mailgun", key, forged, form).status == 401
        stale = _mailgun_form("mg-signing-key", now - 10 * 3600, "v" * 50, "<mg-c@acme.com>")  # Mailgun retries for 8 h
        assert post_mail(rapport, "mailgun", key, stale, form).status == 401
        assert len(_touches(rapport)) == 1


def test_nothing_of_a_message_is_logged_and_the_key_is_masked(rapport, caplog):
    import logging

    from bot.logs import configure, redact

    configure("DEBUG")
    key = _setup(rapport, "Acme Corp")
    with caplog.at_level(logging.DEBUG):
        outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], rapport.clock.now,
                                                              subject="Secret merger"))))
        post_mail(rapport, "postmark", key, b"{not json", "application/json")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot.", "handlers.")))
    assert "mail from mime recorded" in logged
    assert "bob@acme.com" not in logged and "Secret merger" not in logged and OURS not in logged
    assert key not in redact(f'"POST /mail/mime/{key} HTTP/1.1" 200', "gunicorn.access")


def test_app_home_shows_the_week_of_captured_and_skipped_mail(rapport):
    from tests.test_home import _open_home

    assert "Email and calendars" not in json.dumps(_open_home(rapport))  # nothing set up yet: nothing said
    key = _setup(rapport, "Acme Corp")
    outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], rapport.clock.now))))
    outcome(post_mail(rapport, "mime", key, bytes(message("x@vendor.example", [OURS], rapport.clock.now))))
    view = json.dumps(_open_home(rapport, count=2), ensure_ascii=False)
    assert "Email and calendars, last 7 days: Captured 1: 1 email · skipped 1: 1 no client's address" in view


def test_csv_carries_contacts_addresses_and_client_domains_both_ways(rapport, tmp_path):
    import io

    from bot.bulk.csv_io import export_rows, import_rows, read_csv
    from bot.settings import Settings
    from storage.workspaces import find_workspace

    rapport.command("add Acme Corp")
    with rapport.database.sessions.begin() as session:
        workspace = find_workspace(session, "T1", None)
        rows = read_csv(io.StringIO('name,contacts,domains\n'
                                    '"Acme Corp","Jane Doe <Jane@Acme.com> (primary); Sam Lee (sponsor)","acme.com; '
                                    'acme.co.uk"\n"Globex","Kim <kim@gmail.com>","gmail.com"\n'))
        report = import_rows(session, workspace, rows, default_owner="UANA", tz=Settings().tz, now=rapport.clock.now)
        assert report.updated == ["Acme Corp"] and report.rejected[0][0] == 3
        assert "free-mail" in report.rejected[0][1]
        out = io.StringIO()
        export_rows(session, workspace, out, Settings().tz, rapport.clock.now)
    exported = out.getvalue()
    assert "Jane Doe <jane@acme.com> (primary); Sam Lee (sponsor)" in exported
    assert exported.splitlines()[1].endswith("acme.co.uk; acme.com")
    key = key_of(rapport)
    outcome(post_mail(rapport, "mime", key, bytes(message("jane@acme.com", [OURS], rapport.clock.now))))
    [touch] = _touches(rapport)
    assert touch.contact_id is not None


def test_erasing_a_workspace_leaves_nothing_of_its_mail(rapport):
    from storage.erasure import erase_workspace
    from storage.models import MailDay, MailKey, OurDomain
    from storage.workspaces import find_workspace

    key = _setup(rapport, "Acme Corp")
    outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], rapport.clock.now))))
    with rapport.database.sessions.begin() as session:
        erase_workspace(session, find_workspace(session, "T1", None))
    with rapport.database.sessions() as session:
        for model in (MailKey, ClientDomain, OurDomain, MailDay, MailMeeting, Interaction):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
    assert post_mail(rapport, "mime", key, b"x").status == 404


def test_an_email_captured_while_a_card_is_open_closes_it_and_says_rapport_saw_it(rapport):
    from tests.test_clicks import answers, post_card, press

    card = post_card(rapport, "checkin")  # a check-in card about Acme Corp, posted by a sweep
    rapport.command("domain acme acme.com")
    key = key_of(rapport)
    outcome(post_mail(rapport, "mime", key, bytes(message("bob@acme.com", [OURS], rapport.clock.now))))
    [update] = rapport.fake.wait_for("chat.update")  # the posted card is brought up to date, after the commit
    assert update.params["ts"] == card.message["ts"] and "Rapport saw an email from them" in str(update.params)
    path = press(rapport, card, "nudge_done", "UANA")()
    said = answers(rapport, [path], 1)[path]
    assert "Already handled by Rapport: saw an email from them" in said
