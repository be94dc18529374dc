"""Before authentication nothing is parsed: a request's size and Slack's signature are checked first, so an
unsigned body costs an HMAC at most, and no body, signed or not, ever gets a 500 (PRODUCT.md §7)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import build_app
from bot.server.web import MAX_BODY, make_wsgi
from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, sign
from tests.test_fuzz import FIXTURES, _rows

BRACKETS = "[" * 200_000


def _problems(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]


def test_an_unsigned_body_of_brackets_is_refused_unparsed(rapport, caplog):
    caplog.set_level(logging.INFO)
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        reply = rapport.post(BRACKETS, {"Content-Type": content_type})
        assert reply.status == 401, reply.body
    assert rapport.post("payload=" + BRACKETS, {}).status == 401
    assert not _problems(caplog) and "RecursionError" not in caplog.text


def test_a_signed_body_of_brackets_is_a_clear_400(rapport, caplog):
    for body, content_type in ((BRACKETS, "application/json"), ("payload=" + BRACKETS, "application/x-www-form-"
                                                                                       "urlencoded")):
        reply = rapport.post(body, {**sign(body), "Content-Type": content_type})
        assert reply.status == 400 and reply.json()["error"].startswith("malformed request"), reply.body
    assert not _problems(caplog) and "RecursionError" not in caplog.text


def test_a_stale_signature_is_refused_before_the_body_is_read_as_json(rapport, caplog):
    stale = sign(BRACKETS, timestamp=int(time.time()) - 6 * 60)
    assert rapport.post(BRACKETS, {**stale, "Content-Type": "application/json"}).status == 401
    future = sign(BRACKETS, timestamp=int(time.time()) + 6 * 60)
    assert rapport.post(BRACKETS, {**future, "Content-Type": "application/json"}).status == 401
    assert not _problems(caplog)


@pytest.mark.parametrize("headers", [
    {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": "1" * 5000, "X-Slack-Signature": "v0=00"},
    {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=ÿÿ"},
    {"X-Slack-Request-Timestamp": str(int(time.time()))},
])
def test_garbage_signature_headers_are_refused_not_crashed_on(rapport, headers):
    body = urlencode({"team_id": "T1", "user_id": "UANA", "command": "/client", "text": "add Acme Corp"})
    assert rapport.post(body, headers).status == 401
    assert _rows(rapport.database)[1] == 0


def _raw(rapport, headers: dict[str, str], body: bytes = b"") -> tuple[int, str]:
    """A request sent as given: urllib would fix up a lying Content-Length."""
    address = urlsplit(rapport.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", "/slack/events")
    for key, value in headers.items():
        connection.putheader(key, value)
    connection.endheaders(body or None)
    reply = connection.getresponse()
    status, text = reply.status, reply.read().decode()
    connection.close()
    return status, text


def test_a_body_over_a_mebibyte_gets_413_unread(rapport):
    body = urlencode({"command": "/client", "text": "x" * (2 * MAX_BODY)})
    status, text = _raw(rapport, {**sign(body), "Content-Type": "application/x-www-form-urlencoded",
                                  "Content-Length": str(len(body))})  # the body is never sent: nor is it read
    assert status == 413 and json.loads(text)["error"] == f"the body is over {MAX_BODY} bytes"
    status, _ = _raw(rapport, {"Content-Length": "9" * 40})
    assert status == 413
    status, text = _raw(rapport, {"Content-Length": "lots"})
    assert status == 400 and "Content-Length" in text


def test_a_chunked_body_is_read_no_further_than_the_limit(database):
    """wsgiref cannot send chunks; gunicorn can, and hands the app a stream without a length."""
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET)
    wsgi = make_wsgi(build_app(settings, database.sessions), database.engine, signing_secret=SIGNING_SECRET)
    stream = io.BytesIO(b"x" * (2 * MAX_BODY))
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "HTTP_TRANSFER_ENCODING": "chunked",
               "wsgi.input": stream, "SERVER_PROTOCOL": "HTTP/1.1"}
    wsgi(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["413 Content Too Large"] and stream.tell() == MAX_BODY + 1


def _signed(body: bytes) -> dict[str, str]:
    """conftest's sign() for bytes that need not be UTF-8: Slack signs the raw body."""
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8",
                 "text/plain", ""]
FORM_KEYS = ["payload", "command", "text", "team_id", "user_id", "ssl_check", "type", "challenge", "token",
             "response_url", "trigger_id", "enterprise_id", "is_enterprise_install", "api_app_id"]
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.dictionaries(st.sampled_from(FORM_KEYS), st.one_of(
        st.text(max_size=200), st.sampled_from(["[" * 5000, "{" * 5000, '{"type": 5}', "[]", "null", "/client",
                                                '{"type": "block_actions", "actions": [null]}', "\ud800"])),
        max_size=6).map(lambda form: urlencode(form, encoding="utf-8", errors="surrogatepass").encode()),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                 max_leaves=10).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES, database=None)
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), signed=st.booleans())
def test_random_bodies_signed_or_not_never_get_a_500(rapport, body, content_type, signed):
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(_signed(body) if signed else {})}
    status, text = _raw(rapport, headers, body)
    assert status < 500, (status, text)
    if not signed:
        assert status == 401


@pytest.mark.parametrize("body", [b"{" + BRACKETS.encode(), b"\xff\xfe", b"{"])
def test_a_body_sent_to_the_install_pages_is_never_read(oauth_rapport, caplog, body):
    request = urllib.request.Request(oauth_rapport.base + "/slack/install", data=body, method="GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as page:
            status = page.status
    except urllib.error.HTTPError as refused:
        status = refused.code
    assert status < 500
    assert not _problems(caplog)
