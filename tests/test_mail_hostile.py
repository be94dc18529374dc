"""Whatever arrives, reading it raises nothing but MalformedMailError, never yields a naive datetime, and
never lets a subject or body out (PRODUCT.md §4.15, §7: a malformed body is a 400, never a 500)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.capture.mail.calendar import read_calendar
from bot.capture.mail.mailgun import read_mailgun
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import MalformedMailError, Meeting, ParsedMail
from bot.capture.mail.postmark import read_postmark
from bot.capture.mail.sendgrid import read_sendgrid
from tests.mail_fixtures import RECEIVED, fixture

SUBJECT = "Zq9subjectXk"  # never part of an address the strategies write
BODY = "Zq9bodyXk"

addresses = st.builds(
    "{}@{}".format,
    st.text("abcdefgh.+-_", min_size=1, max_size=8),
    st.sampled_from(["client.example", "AGENCY.example", "xn--bcher-kva.example", "mail.co.uk"]),
)
garbled = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(exclude_categories=()), max_size=30),  # lone surrogates: JSON allows "\\ud800"
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.builds(
        "=?{}?{}?{}?=".format,
        st.sampled_from(["utf-8", "x-unknown", "cp850"]),
        st.sampled_from("bqBQx"),
        st.text("=ABCxyz019+/_?", max_size=20),
    ),
    st.just("(" * 3000 + "a@b.c"),
    st.just('"' * 500),
)
address_lists = st.one_of(
    st.lists(addresses, max_size=5).map(", ".join),
    st.lists(st.tuples(st.text(max_size=12), addresses), max_size=5).map(
        lambda pairs: ", ".join(f'"{name}" <{a}>' for name, a in pairs)
    ),
    st.integers(1, 3000).map(lambda n: ", ".join(f"p{i}@client.example" for i in range(n))),
    garbled,
)
dates = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S %z")),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S")),  # no zone
    st.sampled_from(["Fri, 1 Aug 2014 16:45:32 -04:00", "Mon, 1 Jan 2024 10:00:00 -0000", "32 Foo 99999 99:99"]),
    garbled,
)
named_values = st.one_of(
    st.tuples(st.just("From"), address_lists),
    st.tuples(st.sampled_from(["To", "Cc"]), address_lists),
    st.tuples(st.just("Date"), dates),
    st.tuples(st.just("Message-ID"), st.one_of(st.builds("<{}@x>".format, st.text(max_size=20)), garbled)),
    st.tuples(st.sampled_from(["Auto-Submitted", "Precedence", "List-Id", "X-Autoreply", "Content-Type"]), garbled),
    st.tuples(st.text("ABCXYZ-", min_size=1, max_size=10), garbled),
)


def _clean(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ").replace("\x00", " ").encode("utf-8", "replace").decode()


def _message(headers: list[tuple[str, str]], body: str) -> bytes:
    lines = [f"{name}: {_clean(value)}" for name, value in headers]
    return ("\r\n".join([*lines, f"Subject: Fwd: {SUBJECT}", "", body]) + "\r\n").encode("utf-8", "surrogatepass")


def _wrapped(raw: bytes, depth: int, inline: bool) -> bytes:
    """Forward `raw` `depth` times, as an attachment or as Gmail's inline block."""
    for level in range(depth):
        if inline:
            block = (
                f"---------- Forwarded message ---------\r\nFrom: t{level}@agency.example\r\n"
                f"Date: Wed, Oct 27, 2021 at 9:3{level} AM\r\nSubject: Fwd: {SUBJECT}\r\nTo: <x@client.example>\r\n\r\n"
            ).encode()
            raw = f"From: t{level}@agency.example\r\nSubject: Fwd: {SUBJECT}\r\n\r\n{BODY}\r\n".encode() + block + raw
        else:
            raw = (
                (
                    f"From: t{level}@agency.example\r\nSubject: FW: {SUBJECT}\r\nContent-Type: multipart/mixed; "
                    f'boundary="b{level}"\r\n\r\n--b{level}\r\nContent-Type: text/plain\r\n\r\n{BODY}\r\n--b{level}\r\n'
                    f"Content-Type: message/rfc822\r\n\r\n"
                ).encode()
                + raw
                + f"\r\n--b{level}--\r\n".encode()
            )
    return raw


def _assert_safe(mail: ParsedMail) -> None:
    for item in (mail, *((mail.forwarded,) if mail.forwarded else ())):
        assert item.sent_at.tzinfo is not None and item.sent_at.utcoffset() is not None
        assert len(item.identity) == 64
        assert all(isinstance(a, str) and "@" in a for a in item.recipients)
        for meeting in item.meetings:
            _assert_meeting(meeting)
    text = repr(mail)
    assert SUBJECT not in text and BODY not in text


def _assert_meeting(meeting: Meeting) -> None:
    for value in (meeting.start, meeting.end, meeting.recurrence_id, *meeting.exdates):
        assert value is None or value.tzinfo is not None


def _read(reader: object, *args: object) -> None:
    try:
        mail = reader(*args)  # type: ignore[operator]
    except MalformedMailError as refused:
        assert "\n" not in str(refused)
    else:
        _assert_safe(mail)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(named_values, max_size=12),
    body=st.sampled_from([BODY, f"{BODY}\r\n\r\nFrom: a@b.example\r\nSent: soon\r\nTo: c@d.example\r\n"]),
    depth=st.integers(0, 4),
    inline=st.booleans(),
)
def test_any_header_set_through_raw_mime(headers: list[tuple[str, str]], body: str, depth: int, inline: bool) -> None:
    _read(read_mime, _wrapped(_message(headers, body), depth, inline), RECEIVED)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000))
def test_any_bytes_through_raw_mime(data: bytes) -> None:
    _read(read_mime, data, RECEIVED)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | garbled,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
postmark_fields = st.fixed_dictionaries(
    {},
    optional={
        "FromFull": st.one_of(st.builds(lambda a: {"Email": a, "Name": SUBJECT}, addresses), json_values),
        "ToFull": st.one_of(st.lists(st.builds(lambda a: {"Email": a}, addresses), max_size=3), json_values),
        "CcFull": json_values,
        "Date": st.one_of(dates, json_values),
        "Headers": st.one_of(
            st.lists(st.builds(lambda nv: {"Name": nv[0], "Value": nv[1]}, named_values), max_size=6), json_values
        ),
        "Subject": st.just(SUBJECT),
        "TextBody": st.just(BODY),
        "RawEmail": st.one_of(
            st.none(),
            st.builds(lambda h: _message(h, BODY).decode("utf-8", "replace"), st.lists(named_values, max_size=5)),
        ),
        "Attachments": st.one_of(
            json_values,
            st.just(
                [
                    {
                        "Name": "invite.ics",
                        "ContentType": "text/calendar",
                        "Content": base64.b64encode(fixture("exchange_w_europe_request.ics")).decode(),
                    }
                ]
            ),
            st.just([{"Name": "x.eml", "ContentType": "message/rfc822", "Content": "%%%not base64"}]),
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(payload=st.one_of(postmark_fields, json_values))
def test_any_json_through_postmark(payload: object) -> None:
    _read(read_postmark, json.dumps(payload).encode(), RECEIVED)


form_fields = st.dictionaries(
    st.sampled_from(
        [
            "headers",
            "from",
            "to",
            "cc",
            "text",
            "html",
            "email",
            "attachment-info",
            "message-headers",
            "body-plain",
            "body-mime",
            "From",
            "To",
            "Date",
            "Message-Id",
            "sender",
            "subject",
        ]
    ),
    st.one_of(
        garbled,
        address_lists,
        st.builds(lambda h: _message(h, BODY).decode("utf-8", "replace"), st.lists(named_values, max_size=5)),
        st.lists(named_values, max_size=5).map(lambda h: json.dumps([list(p) for p in h])),
    ),
    max_size=8,
)
files = st.dictionaries(
    st.sampled_from(["attachment1", "attachment-1", "attachment2"]),
    st.one_of(st.binary(max_size=200), st.just(fixture("libical_incoming.ics")), st.just(b"BEGIN:VCALENDAR\r\n")),
    max_size=2,
)


@settings(max_examples=150, deadline=None)
@given(fields=form_fields, attachments=files)
def test_any_form_through_sendgrid_and_mailgun(fields: dict[str, str], attachments: dict[str, bytes]) -> None:
    _read(read_sendgrid, fields, attachments, RECEIVED)
    _read(read_mailgun, fields, attachments, RECEIVED)


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "BEGIN:VEVENT",
                    "END:VEVENT",
                    "UID:x",
                    "DTSTART:20260101T100000",
                    "DTSTART;VALUE=DATE:2026",
                    "DTSTART;TZID=Nowhere/Land:20260101T100000",
                    "RRULE:FREQ=WEEKLY;UNTIL=2026",
                    "EXDATE:garbage",
                    "RECURRENCE-ID:20260101",
                    "SEQUENCE:-4",
                    "SEQUENCE:x",
                    "BEGIN:VTIMEZONE",
                    "TZID:W. Europe Standard Time",
                    "END:VTIMEZONE",
                    "METHOD:CANCEL",
                    "ATTENDEE:urn:uuid:1",
                    "ORGANIZER:mailto:",
                    "DURATION:P1D",
                ]
            ),
            st.text(max_size=30),
        ),
        max_size=25,
    )
)
def test_any_calendar(lines: list[str]) -> None:
    ics = "\r\n".join(["BEGIN:VCALENDAR", *(_clean(line) for line in lines), "END:VCALENDAR"]).encode()
    try:
        meetings = read_calendar(ics)
    except MalformedMailError:
        return
    for meeting in meetings:
        _assert_meeting(meeting)


def test_received_at_must_be_aware() -> None:
    naive = datetime(2026, 1, 1)
    try:
        read_mime(b"From: a@b.example\r\n\r\n", naive)
    except ValueError as refused:
        assert "timezone-aware" in str(refused)
    else:  # pragma: no cover
        raise AssertionError("a naive received_at was accepted")
    assert read_mime(b"From: a@b.example\r\n\r\n", RECEIVED.astimezone(UTC)).sender == "a@b.example"


PATHOLOGICAL = [
    "<" * 500_000,
    "<style" * 100_000,
    ("forwarded message" + " " * 19_000 + "x\n") * 20,
    ("From" + " " * 19_000 + "x\n") * 20,
    ("a" * 19_000 + "\n") * 20,
    "(" * 100_000,
    ('"' + "a" * 50_000 + ",") * 4,
]


def test_inputs_built_to_make_a_pattern_backtrack_are_read() -> None:
    """Each of these takes seconds to minutes with a pattern whose repeats overlap; read here they take
    milliseconds (no timing is asserted: a regression shows as a test that hangs)."""
    for text in PATHOLOGICAL:
        head = f"From: sam@agency.example\r\nTo: {text[:100_000]}\r\nDate: {text[:1000]}\r\nSubject: Fwd: {SUBJECT}"
        for kind in ("text/plain", "text/html"):
            raw = f"{head}\r\nContent-Type: {kind}\r\n\r\n{text}".encode()
            _read(read_mime, raw, RECEIVED)


def test_lone_surrogates_from_json_and_forms() -> None:
    """JSON may carry "\\ud800", and a form decoded with surrogateescape carries raw bytes as surrogates."""
    for body in (
        b'{"RawEmail": "From: a@b.example\\ud800\\r\\nTo: c@d.example\\r\\n\\r\\n"}',
        b'{"FromFull": {"Email": "a\\ud800@b.example"}, "Date": "\\udfff", "ToFull": [{"Email": "c@d.example"}]}',
    ):
        _read(read_postmark, body, RECEIVED)
    for form in ({"email": "From: a@b.example\ud800\r\n\r\n"}, {"headers": "From: a\udcff@b.example\n"}):
        _read(read_sendgrid, form, {}, RECEIVED)
        _read(read_mailgun, {"body-mime": form.get("email", ""), "From": form.get("headers", "")}, {}, RECEIVED)
