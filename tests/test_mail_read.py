"""Reading mail into metadata (PRODUCT.md §4.15): provider bodies, raw MIME, forwards, invitations, zones."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.capture.mail.addresses import normalize_address, normalize_domain
from bot.capture.mail.calendar import read_calendar, settle_floating
from bot.capture.mail.headers import parse_date
from bot.capture.mail.identity import identity_of
from bot.capture.mail.mailgun import mailgun_replay_key, mailgun_signature_ok, read_mailgun
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail
from bot.capture.mail.postmark import read_postmark
from bot.capture.mail.recurrence import occurrences
from bot.capture.mail.sendgrid import read_sendgrid
from tests.mail_fixtures import RECEIVED, fields, fixture, form


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- one message, four ways in -------------------------------------------------------------------------

ANYMAIL_IDENTITY = hashlib.sha256(b"CAEPk3R+4Zr@mail.example.org").hexdigest()


def test_postmark_sendgrid_and_mailgun_read_one_message_the_same_way() -> None:
    """The same message (django-anymail's capture) through three providers: one identity, one sender, one
    date, so a message BCC'd to two inbound paths is recorded once."""
    read = [
        read_postmark(fixture("postmark_anymail.json"), RECEIVED),
        read_sendgrid(fields("sendgrid_default.json"), {}, RECEIVED),
        read_mailgun(fields("mailgun_route.json"), {}, RECEIVED),
    ]
    for mail in read:
        assert mail.identity == ANYMAIL_IDENTITY  # the Message-ID header, never Postmark's own MessageID
        assert mail.sender == "from+test@example.org"
        assert mail.recipients == ("test@inbound.example.com", "other@example.com", "cc@example.com")
        assert mail.sent_at == at(2017, 10, 12, 1, 31, 4)
        assert mail.automated is None
        assert mail.forwarded is None


def test_raw_mime_modes_match_reading_the_message_itself() -> None:
    raw = json.loads(fixture("sendgrid_raw.json"))["email"].encode()
    itself = read_mime(raw, RECEIVED)
    assert itself.identity == hashlib.sha256(b"CAEPk3RKEx@mail.example.org").hexdigest()
    assert itself.sender == "test@example.org"
    assert itself.sent_at == at(2017, 10, 13, 1, 3, 30)
    assert read_sendgrid(fields("sendgrid_raw.json"), {}, RECEIVED) == itself
    assert read_mailgun(fields("mailgun_mime.json"), {}, RECEIVED) == itself


def test_postmarks_documented_example_with_its_colon_offset_date() -> None:
    mail = read_postmark(fixture("postmark_documented.json"), RECEIVED)
    assert mail.sender == "support@postmarkapp.com"
    # Bcc is the inbound address itself and never a recipient; addresses are lowercased
    assert mail.recipients == (
        "yourhash+samplehash@inbound.postmarkapp.com",
        "firstcc@postmarkapp.com",
        "secondcc@postmarkapp.com",
    )
    # "Fri, 1 Aug 2014 16:45:32 -04:00": the standard library alone reads it as a naive 16:45:32
    assert mail.sent_at == at(2014, 8, 1, 20, 45, 32)
    # no Message-ID header: the digest of sender, date and recipients
    assert mail.identity == identity_of(None, mail.sender, mail.sent_at, mail.recipients)


def test_postmarks_check_button_payload_is_read() -> None:
    mail = read_postmark(fixture("postmark_check_payload.json"), RECEIVED)
    assert mail.sender == "support@postmarkapp.com"
    assert mail.sent_at == at(2023, 5, 5, 21, 44, 33)
    assert mail.meetings == ()


def test_a_sendgrid_capture_in_three_charsets() -> None:
    texts, files = form(fixture("sendgrid_charsets.form"), "xYzZY")
    mail = read_sendgrid(texts, files, RECEIVED)
    assert mail.sender == "sender@example.com"
    assert mail.recipients == ("inbound@sg.example.com",)
    assert mail.sent_at == at(2020, 7, 24, 16, 43, 46)


@pytest.mark.parametrize(
    ("reader", "body", "reason"),
    [
        ("postmark", b"not json", "not JSON"),
        ("postmark", b"[1, 2]", "not a JSON object"),
        ("postmark", b'{"Headers": "X-Spam: yes"}', "Headers is not a list"),
        ("postmark", b'{"MessageStream": "inbound"}', "no readable From"),
        ("postmark", b'{"FromFull": {"Email": "not an address"}}', "no readable From"),
        ("sendgrid", {"subject": "hello"}, "neither `headers` nor `email`"),
        ("sendgrid", {"headers": "Subject: hi\n"}, "no readable From"),
        ("mailgun", {"body-plain": "hi"}, "neither message-headers nor body-mime"),
        ("mailgun", {"message-headers": "[[1,"}, "not JSON"),
        ("mailgun", {"message-headers": '{"From": "a@b.c"}'}, "not a list"),
    ],
)
def test_a_body_of_the_wrong_shape_is_refused_with_one_line(reader: str, body: object, reason: str) -> None:
    with pytest.raises(MalformedMailError) as refused:
        if reader == "postmark":
            assert isinstance(body, bytes)
            read_postmark(body, RECEIVED)
        elif reader == "sendgrid":
            assert isinstance(body, dict)
            read_sendgrid(body, {}, RECEIVED)
        else:
            assert isinstance(body, dict)
            read_mailgun(body, {}, RECEIVED)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_invitation_attached_to_a_provider_body_is_read() -> None:
    ics = fixture("exchange_w_europe_request.ics")
    postmark = json.loads(fixture("postmark_documented.json"))
    postmark["Attachments"].append(
        {"Name": "invite.ics", "ContentType": "text/calendar; method=REQUEST", "Content": _b64(ics)}
    )
    sendgrid = dict(
        fields("sendgrid_default.json"),
        **{"attachment-info": json.dumps({"attachment1": {"filename": "invite.ics", "type": "text/calendar"}})},
    )
    for mail in (
        read_postmark(json.dumps(postmark).encode(), RECEIVED),
        read_sendgrid(sendgrid, {"attachment1": ics}, RECEIVED),
        read_mailgun(fields("mailgun_route.json"), {"attachment-1": ics}, RECEIVED),  # sniffed: no types
    ):
        assert [m.uid[:24] for m in mail.meetings] == ["040000008200E00074C5B710"]


# --- Mailgun's signature ---------------------------------------------------------------------------------

KEY = "key-test-signing"
SIGNED = fields("mailgun_route.json")
SIGNED_AT = datetime.fromtimestamp(int(SIGNED["timestamp"]), UTC)


def _signature(timestamp: str, token: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (SIGNED_AT, True),
        (SIGNED_AT + timedelta(hours=8), True),  # Mailgun's last retry carries the first attempt's signature
        (SIGNED_AT + timedelta(hours=9, seconds=1), False),
        (SIGNED_AT - timedelta(minutes=5), True),
        (SIGNED_AT - timedelta(minutes=5, seconds=1), False),  # from the future
    ],
)
def test_mailgun_signature_window(now: datetime, ok: bool) -> None:
    signature = _signature(SIGNED["timestamp"], SIGNED["token"])
    assert mailgun_signature_ok(KEY, SIGNED["timestamp"], SIGNED["token"], signature, now) is ok


def test_mailgun_signature_refuses_what_it_did_not_sign() -> None:
    ts, token = SIGNED["timestamp"], SIGNED["token"]
    good = _signature(ts, token)
    assert mailgun_signature_ok(KEY, ts, token, good.upper(), SIGNED_AT)
    assert not mailgun_signature_ok(KEY, ts, token, _signature(ts, token, "another key"), SIGNED_AT)
    assert not mailgun_signature_ok(KEY, ts, token + "x", good, SIGNED_AT)
    assert not mailgun_signature_ok(KEY, str(int(ts) + 1), token, good, SIGNED_AT)
    for timestamp in ("", "soon", "1e9", "9" * 30):
        assert not mailgun_signature_ok(KEY, timestamp, token, good, SIGNED_AT)
    assert not mailgun_signature_ok("", ts, token, good, SIGNED_AT)
    assert not mailgun_signature_ok(KEY, ts, token + "\ud800", good, SIGNED_AT)
    assert not mailgun_signature_ok(KEY, ts, token, good + "\u00e9", SIGNED_AT)
    assert mailgun_replay_key(token) == mailgun_replay_key(token) != mailgun_replay_key(token[:-1])


# --- raw messages ----------------------------------------------------------------------------------------


def test_a_google_invitation_through_a_list() -> None:
    mail = read_mime(fixture("google_invite_via_list.eml"), RECEIVED)
    assert mail.sender == "john.johansen@canonical.com"
    assert mail.automated == "auto-generated"  # the recorder reads its meetings all the same
    (meeting,) = mail.meetings  # sent inline and as invite.ics: one meeting
    assert meeting.uid == "p66999bqqvppu1rtd17fak3276@google.com"
    assert (meeting.method, meeting.sequence) == ("REQUEST", 10)
    assert meeting.start == at(2025, 3, 11, 18) and meeting.end == at(2025, 3, 11, 19)
    assert meeting.organizer == "john.johansen@canonical.com"
    assert "maxime.belair@canonical.com" in meeting.attendees and len(meeting.attendees) == 6
    second_tuesdays = occurrences(meeting, at(2025, 1, 1), at(2026, 1, 1), "UTC")
    assert [d.date().isoformat() for d in second_tuesdays] == [
        "2025-03-11",
        "2025-04-08",
        "2025-05-13",
        "2025-06-10",
        "2025-07-08",
        "2025-08-12",
    ]  # September's falls after UNTIL


def test_a_digests_messages_are_not_forwards() -> None:
    mail = read_mime(fixture("cpython_msg_02.txt"), RECEIVED)
    assert mail.sender == "ppp-request@zzz.org"
    assert mail.forwarded is None
    assert mail.sent_at == at(2001, 4, 21, 0, 18)


def test_an_unreadable_date_falls_back_to_when_it_arrived() -> None:
    mail = read_mime(fixture("nylas_bad_date.eml"), RECEIVED)
    assert mail.sent_at == RECEIVED
    again = read_mime(fixture("nylas_bad_date.eml"), RECEIVED + timedelta(hours=1))
    assert again.identity == mail.identity  # a retry an hour later is the same message


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("Fri, 1 Aug 2014 16:45:32 -04:00", at(2014, 8, 1, 20, 45, 32)),
        ("Wed, 11 Oct 2017 18:31:04 -0700 (PDT)", at(2017, 10, 12, 1, 31, 4)),
        ("Sat, 19 Aug 2017 19:37:23 +0200 (Mitteleurop?ische", at(2017, 8, 19, 17, 37, 23)),
        ("Mon, 1 Jan 2024 10:00:00 -0000", at(2024, 1, 1, 10)),
        ("Mon, 1 Jan 2024 10:00:00 GMT", at(2024, 1, 1, 10)),
        ("Mon, 1 Jan 2024 10:00:00", None),  # no zone: not guessed as UTC
        ("Mon, 1 Jan 2024 10:00:00 CEST", None),
        ("Mon, 31 Feb 2024 10:00:00 +0000", None),
        ("Mon, 1 Jan 2024 10:00:00 +9999", None),
        ("unparseable", None),
    ],
)
def test_dates(written: str, read: datetime | None) -> None:
    assert parse_date(written) == read


def test_a_date_from_the_future_is_a_wrong_clock() -> None:
    raw = b"From: a@client.example\r\nTo: b@agency.example\r\nDate: Mon, 1 Jan 2091 10:00:00 +0000\r\n\r\nhi"
    assert read_mime(raw, RECEIVED).sent_at == RECEIVED


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "auto-reply"),
        ("Auto-Submitted: auto-generated", "auto-generated"),
        ("Auto-Submitted: no", None),
        ("X-Autoreply: yes", "auto-reply"),
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "list"),
        ("List-Id: <news.client.example>", "list"),
        ("List-Unsubscribe: <mailto:leave@client.example>", "list"),
        ("Content-Type: multipart/report; report-type=delivery-status; boundary=x", "bounce"),
        ("X-Mailer: Outlook", None),
    ],
)
def test_automated_mail_says_why(header: str, reason: str | None) -> None:
    raw = f"From: jane@client.example\r\nTo: sam@agency.example\r\n{header}\r\n\r\nhi".encode()
    assert read_mime(raw, RECEIVED).automated == reason


def test_a_mailer_daemon_is_a_bounce() -> None:
    raw = b"From: MAILER-DAEMON@client.example\r\nTo: sam@agency.example\r\n\r\nUndeliverable"
    assert read_mime(raw, RECEIVED).automated == "bounce"


def test_recipients_are_lowercased_decoded_and_each_once() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <JUERGEN@Xn--Bcher-Kva.Example>\r\n"
        b"To: Jane <jane@client.example>, JANE@CLIENT.EXAMPLE, not-an-address, <@nowhere>\r\n"
        b"To: =?utf-8?b?Ym9iQGNsaWVudC5leGFtcGxl?=\r\n"
        b'Cc: "Doe, John" <john@client.example>; undisclosed-recipients:;\r\n'
        b"Cc: jane@client.example\r\n"
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <x@y>\r\nMessage-ID: <second@y>\r\n\r\nhi"
    )
    mail = read_mime(raw, RECEIVED)
    assert mail.sender == "juergen@bücher.example"
    assert mail.recipients == ("jane@client.example", "bob@client.example", "john@client.example")
    assert mail.identity == hashlib.sha256(b"x@y").hexdigest()  # the first of duplicate Message-IDs


def test_an_encoded_word_hiding_a_comma_in_a_display_name_is_one_name() -> None:
    """`=?utf-8?q?Doe=2C_John?=` decodes to "Doe, John": read as one display name, not split into two addresses."""
    raw = (
        b"From: =?utf-8?q?Doe=2C_John?= <john@client.example>\r\n"
        b"To: =?utf-8?q?Lee=2C_Sam?= <sam@agency.example>, =?utf-8?b?TWFydGluLCBBbm4=?= <ann@client.example>\r\n"
        b"Cc: =?utf-8?q?a=2C?= =?utf-8?q?_b?= <kim@agency.example>\r\n"
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <comma@client.example>\r\n\r\nhi"
    )
    mail = read_mime(raw, RECEIVED)
    assert mail.sender == "john@client.example"
    assert mail.recipients == ("sam@agency.example", "ann@client.example", "kim@agency.example")


def test_a_local_part_beyond_ascii_is_an_address_but_a_space_or_control_is_not() -> None:
    from bot.addresses import normalize_email

    assert normalize_email("Ünal@BÜCHER.example") == "ünal@xn--bcher-kva.example"
    assert normalize_email("zo\u0065\u0308@x.example") == normalize_email("zo\u00eb@x.example") == "zo\u00eb@x.example"
    assert normalize_email("用户@例子.广告") == "用户@xn--fsqu00a.xn--4rr70v"
    assert normalize_email("jane.o'neil+ops@client.example") == "jane.o'neil+ops@client.example"
    for garbage in ("ü nal@x.example", "ü\u00a0nal@x.example", "ü\tnal@x.example", "ü\x00@x.example",
                    "ü\x85@x.example", "ü\u2028@x.example", "\udcfc@x.example", "ü" * 33 + "@x.example",
                    ".ünal@x.example", "ü..n@x.example", "ü<n@x.example", "ü@@x.example", "@x.example"):
        assert normalize_email(garbage) is None, repr(garbage)
    assert normalize_email("ü" * 32 + "@x.example") is not None  # 64 octets


def test_twenty_thousand_recipients_are_all_read() -> None:
    to = ", ".join(f"Person {n} <p{n}@client{n % 7}.example>" for n in range(20_000))
    raw = f"From: sam@agency.example\r\nTo: {to}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nhi".encode()
    mail = read_mime(raw, RECEIVED)
    assert len(mail.recipients) == 20_000 and mail.recipients[-1] == "p19999@client0.example"


def test_addresses_and_domains_are_spelled_one_way() -> None:
    assert normalize_domain("XN--BCHER-KVA.example.") == normalize_domain("bücher.example") == "bücher.example"
    assert normalize_address("mailto:Jane@Client.Example") == "jane@client.example"
    for garbage in ("", "jane", "@client.example", "jane@", "ja ne@client.example", "jane@localhost", "a@b@c.d"):
        assert normalize_address(garbage) is None


def test_nothing_readable_is_malformed_but_an_invitation_alone_is_not() -> None:
    with pytest.raises(MalformedMailError):
        read_mime(b"Subject: hello\r\n\r\nno addresses at all", RECEIVED)
    with pytest.raises(MalformedMailError):
        read_mime(b"", RECEIVED)
    ics = fixture("exchange_w_europe_request.ics")
    raw = b"Content-Type: text/calendar; method=REQUEST\r\n\r\n" + ics
    assert len(read_mime(raw, RECEIVED).meetings) == 1


# --- forwards ---------------------------------------------------------------------------------------------

CLIENT_THREAD = ("bessie.berry@acme.com", "walter.sheltan@acme.com", "nicholas@globex.corp")


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("forward_gmail.eml", at(2021, 10, 27, 7, 31)),  # "9:31 AM", the forwarder at +0200
        ("forward_outlook.eml", at(2021, 10, 25, 10, 17)),  # "Sent: 25 October 2021 11:17", at +0100
        ("forward_apple_mail.eml", at(2021, 10, 25, 8, 17, 21)),  # "11:17:21 EEST", at +0300
        ("forward_new_outlook.eml", at(2021, 10, 28, 11, 46)),
        ("forward_twice_gmail.eml", at(2021, 10, 27, 7, 31)),  # the innermost, not the teammate's
    ],
)
def test_an_inline_forward_is_read_as_the_original(name: str, sent: datetime) -> None:
    mail = read_mime(fixture(name), RECEIVED)
    assert mail.sender == "sam@agency.example"
    original = mail.forwarded
    assert original is not None
    assert original.sender == "john.doe@acme.com"
    assert original.recipients == CLIENT_THREAD
    assert original.sent_at == sent
    assert original.forwarded is None
    assert original.identity == identity_of(None, original.sender, original.sent_at, original.recipients)


@pytest.mark.parametrize("name", ["forward_attached.eml", "forward_attached_twice.eml"])
def test_an_attached_original_is_read_as_itself(name: str) -> None:
    raw = json.loads(fixture("sendgrid_raw.json"))["email"].encode()
    original = read_mime(fixture(name), RECEIVED).forwarded
    assert original == read_mime(raw, RECEIVED)


def test_a_reply_quoting_an_outlook_block_is_no_forward() -> None:
    body = (
        "Thanks!\r\n\r\nFrom: John Doe <john.doe@acme.com>\r\nSent: 25 October 2021 11:17\r\n"
        "To: sam@agency.example\r\nSubject: Question\r\n\r\nHi"
    )
    raw = f"From: sam@agency.example\r\nTo: john.doe@acme.com\r\nSubject: RE: Question\r\n\r\n{body}".encode()
    assert read_mime(raw, RECEIVED).forwarded is None
    forwarded = raw.replace(b"Subject: RE: Question", b"Subject: FW: Question")
    assert read_mime(forwarded, RECEIVED).forwarded is not None


def test_a_forward_block_in_an_html_only_message() -> None:
    html = (
        '<div>FYI</div><div class="gmail_quote">---------- Forwarded message ---------<br>From: '
        '<strong class="gmail_sendername">John Doe</strong> <span>&lt;<a href="mailto:john.doe@acme.com">'
        "john.doe@acme.com</a>&gt;</span><br>Date: Wed, 27 Oct 2021 09:31:00 +0200<br>Subject: Hi<br>"
        "To: &lt;bessie.berry@acme.com&gt;<br></div>"
    )
    raw = f"From: sam@agency.example\r\nTo: k@in.example\r\nSubject: Fwd: Hi\r\nContent-Type: text/html\r\n\r\n{html}"
    original = read_mime(raw.encode(), RECEIVED).forwarded
    assert original is not None
    assert (original.sender, original.recipients) == ("john.doe@acme.com", ("bessie.berry@acme.com",))
    assert original.sent_at == at(2021, 10, 27, 7, 31)


# --- calendars ----------------------------------------------------------------------------------------------


def test_libicals_itip_examples() -> None:
    meetings = read_calendar(fixture("libical_incoming.ics"))
    summary = [(m.method, m.uid.split("-")[-1], m.sequence, m.start) for m in meetings]
    assert summary == [
        ("REQUEST", "873970198738776@example.com", 2, at(1997, 7, 1, 10)),
        ("REQUEST", "873970198738777@example.com", 2, at(1997, 7, 1, 20)),  # reschedules
        ("REQUEST", "873970198738777@example.com", 2, at(1997, 7, 1, 19)),  # updates
        ("REQUEST", "873970198738777@example.com", 0, at(1996, 7, 1, 18)),  # obsolete: a lower SEQUENCE
        ("REQUEST", "873970198738779@example.com", 2, at(1997, 7, 1, 19)),
        ("CANCEL", "873970198738777@example.com", 1, None),  # no DTSTART, lower SEQUENCE: still a cancel
        ("REQUEST", "1001@example.com", 0, at(1997, 7, 1, 10)),  # PUBLISH
        ("REQUEST", "1002@example.com", 2, at(1997, 7, 1, 10)),
    ]  # REPLY, COUNTER and VFREEBUSY change no meeting
    first = meetings[0]
    assert first.organizer == "b@example.com"
    assert first.attendees == (
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
        "conf_big@example.com",
        "e@example.com",
    )


@pytest.mark.parametrize(
    ("name", "start", "zone"),
    [
        ("exchange_w_europe_request.ics", at(2011, 12, 8, 11), "Europe/Berlin"),
        ("icalendar_exchange_pacific_request.ics", at(2017, 2, 24, 20), "America/Los_Angeles"),
        ("icalendar_exchange_eastern_publish.ics", at(2024, 10, 28, 21), "America/New_York"),
    ],
)
def test_exchange_invitations_in_windows_zones(name: str, start: datetime, zone: str) -> None:
    (meeting,) = read_calendar(fixture(name))
    assert (meeting.start, meeting.zone, meeting.floating, meeting.all_day) == (start, zone, False, False)


def test_the_w_europe_invitation_in_full() -> None:
    (meeting,) = read_calendar(fixture("exchange_w_europe_request.ics"))
    assert meeting.uid == (
        "040000008200E00074C5B7101A82E00800000000D0AA8057A561CC01000000000000000010000000B4762DB1A2E3C24BA17F2D09C0F0189F"
    )
    assert (meeting.method, meeting.sequence, meeting.end) == ("REQUEST", 1, at(2011, 12, 8, 11, 30))
    assert meeting.organizer == "otto@example.com"
    assert meeting.attendees == ("horst@example.org", "klaus@example.com")


def _ics(*lines: str, method: str = "REQUEST") -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", f"METHOD:{method}", *lines, "END:VCALENDAR", ""]
    return "\r\n".join(body).encode()


def test_a_windows_zone_without_its_vtimezone_is_read_by_the_map() -> None:
    ics = _ics("BEGIN:VEVENT", "UID:a", "DTSTART;TZID=W. Europe Standard Time:20260701T090000", "END:VEVENT")
    (meeting,) = read_calendar(ics)
    assert (meeting.start, meeting.zone) == (at(2026, 7, 1, 7), "Europe/Berlin")


def test_floating_times_are_read_in_the_zone_the_invitation_defines() -> None:
    vtimezone = [
        "BEGIN:VTIMEZONE",
        "TZID:Romance Standard Time",
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
    (meeting,) = read_calendar(_ics(*vtimezone, "BEGIN:VEVENT", "UID:a", "DTSTART:20260115T100000", "END:VEVENT"))
    assert (meeting.start, meeting.zone, meeting.floating) == (at(2026, 1, 15, 9), "Europe/Paris", False)


def test_floating_times_without_a_zone_wait_for_the_workspaces() -> None:
    ics = _ics(
        "BEGIN:VEVENT",
        "UID:a",
        "DTSTART:20260115T100000",
        "DTEND:20260115T110000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "EXDATE:20260122T100000",
        "END:VEVENT",
    )
    (meeting,) = read_calendar(ics)
    assert meeting.floating and meeting.zone is None
    assert meeting.start is not None and meeting.start.tzinfo is not None
    settled = settle_floating(meeting, "America/New_York")
    assert (settled.start, settled.end, settled.zone, settled.floating) == (
        at(2026, 1, 15, 15),
        at(2026, 1, 15, 16),
        "America/New_York",
        False,
    )
    assert settled.exdates == (at(2026, 1, 22, 15),)
    expected = [at(2026, 1, 15, 15), at(2026, 1, 29, 15)]
    assert occurrences(meeting, at(2026, 1, 1), at(2026, 3, 1), "America/New_York") == expected
    assert occurrences(settled, at(2026, 1, 1), at(2026, 3, 1), "Asia/Tokyo") == expected


def test_all_day_invitations() -> None:
    (meeting,) = read_mime(fixture("all_day_invitation.eml"), RECEIVED).meetings
    assert (meeting.all_day, meeting.floating, meeting.zone) == (True, True, None)
    settled = settle_floating(meeting, "America/Toronto")
    assert (settled.start, settled.end) == (at(2007, 6, 28, 4), at(2007, 7, 9, 4))  # local midnights, EDT
    mozilla = read_calendar(fixture("icalendar_all_day_events.ics"))
    assert next((m.all_day, m.start, m.end) for m in mozilla) == (True, at(2003, 12, 25), at(2003, 12, 26))
    assert len(mozilla) == 3


def test_a_cancel_of_one_occurrence_without_dtstart() -> None:
    ics = _ics(
        "BEGIN:VEVENT",
        "UID:weekly@client.example",
        "SEQUENCE:3",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260312T090000",
        "STATUS:CANCELLED",
        "END:VEVENT",
        method="CANCEL",
    )
    (meeting,) = read_calendar(ics)
    assert (meeting.method, meeting.start, meeting.recurrence_id) == ("CANCEL", None, at(2026, 3, 12, 8))


def test_a_cancelled_status_in_a_request_is_a_cancel() -> None:
    ics = _ics("BEGIN:VEVENT", "UID:a", "DTSTART:20260115T100000Z", "STATUS:CANCELLED", "END:VEVENT")
    assert [m.method for m in read_calendar(ics)] == ["CANCEL"]


def test_weekly_occurrences_keep_their_local_time_across_daylight_saving() -> None:
    (meeting,) = read_calendar(
        _ics(
            "BEGIN:VEVENT",
            "UID:a",
            "DTSTART;TZID=Europe/Berlin:20260305T090000",
            "RRULE:FREQ=WEEKLY;UNTIL=20260409T070000Z",
            "EXDATE;TZID=Europe/Berlin:20260319T090000",
            "END:VEVENT",
        )
    )
    assert meeting.rrule == "FREQ=WEEKLY;UNTIL=20260409T070000Z"
    assert occurrences(meeting, at(2026, 3, 1), at(2026, 12, 31), "UTC") == [
        at(2026, 3, 5, 8),
        at(2026, 3, 12, 8),
        at(2026, 3, 26, 8),  # CET; the 19th is an EXDATE
        at(2026, 4, 2, 7),
        at(2026, 4, 9, 7),  # CEST from the 29th of March; UNTIL is inclusive
    ]
    assert occurrences(meeting, at(2026, 3, 26, 8), at(2026, 4, 2, 7), "UTC") == [at(2026, 4, 2, 7)]


def test_a_rule_that_cannot_be_read_counts_as_one_meeting() -> None:
    (meeting,) = read_calendar(_ics("BEGIN:VEVENT", "UID:a", "DTSTART:20260105T100000Z", "END:VEVENT"))
    broken = type(meeting)(**{**meeting.__dict__, "rrule": "FREQ=SOMETIMES"})
    assert occurrences(broken, at(2026, 1, 1), at(2027, 1, 1), "UTC") == [at(2026, 1, 5, 10)]


@pytest.mark.parametrize(
    "garbage",
    [b"", b"garbage", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2024XX01\r\n", b"BEGIN:VCALENDAR\r\n\x00\xff"],
)
def test_a_calendar_that_is_not_one(garbage: bytes) -> None:
    try:
        meetings = read_calendar(garbage)
    except MalformedMailError as refused:
        assert "\n" not in str(refused)
    else:
        assert meetings == ()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_parsed_mail_has_no_room_for_a_subject_or_body() -> None:
    assert set(ParsedMail.__dataclass_fields__) == {
        "identity",
        "sender",
        "recipients",
        "sent_at",
        "automated",
        "forwarded",
        "meetings",
    }
