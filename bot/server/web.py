"""The WSGI application gunicorn serves: Slack's endpoint plus a health check.

A POST to Slack's endpoint is checked here before Bolt sees it, cheapest first: its size (over MAX_BODY: 413,
read no further), its signature and timestamp (401, its body never parsed), then its shape (400). Only a
request from Slack, recently, of a shape Slack sends, costs more than an HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import parse_body
from sqlalchemy import Engine, text

from bot.server.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means unhealthy; the reason goes to the log, not the probe
        log.exception("health check: database unreachable")
        return False


# Objects Slack always sends as JSON objects (or, for channel, sometimes an id). Bolt reads them while building
# a request's context, before any listener or middleware, and fails with a 500 on anything else.
OBJECTS = ("team", "user", "enterprise", "container", "view", "message", "event", "state", "item")
LISTS = ("actions", "authorizations")
IDS = ("id", "team_id", "user_id", "enterprise_id", "channel_id", "api_app_id", "type", "callback_id", "action_id",
       "block_id", "trigger_id", "response_url", "value")


def malformed(payload: object) -> str | None:
    """Why a payload cannot be from Slack, or None. Checked before Bolt sees it."""
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    for key in OBJECTS:
        if key in payload and payload[key] is not None and not isinstance(payload[key], dict):
            return f"{key} is not an object"
    if "channel" in payload and not isinstance(payload["channel"], (dict, str, type(None))):
        return "channel is neither an object nor an id"
    for key in LISTS:
        value = payload.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{key} is not a list of objects"
    if payload.get("type") in ("block_actions", "interactive_message") and "actions" in payload \
            and not payload["actions"]:
        return "an action payload without actions"  # Bolt reads the first one unguarded
    if payload.get("type") == "event_callback" and "event" in payload and not isinstance(payload["event"], dict):
        return "an event callback without an event"
    if payload.get("type") in ("view_submission", "view_closed") and not isinstance(
            (payload.get("view") or {}).get("type"), str):
        return "a view payload without view.type"
    nested = [payload, *(v for v in payload.values() if isinstance(v, dict)), *(payload.get("actions") or [])]
    for node in nested:
        for key in IDS:
            if key in node and not isinstance(node[key], (str, type(None))):
                return f"{key} is not a string"
    return None


def _payload_of(body: str, content_type: str) -> object:
    # Bolt's own parser, as Bolt calls it (content type without parameters), so what is checked here is what
    # Bolt will read: a JSON body sent as a form, or the reverse, cannot slip past.
    return parse_body(body, content_type.split(";")[0] or None)


SLACK_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # bytes; Slack's payloads are a few kilobytes, its largest (a big modal) well under this
SIGNATURE_MAX_AGE = 5 * 60  # seconds either way, as Slack's docs and Bolt allow: older requests may be replays


def signature_ok(secret: bytes, environ: dict[str, Any], body: bytes, now: float) -> bool:
    """Slack's v0 request signature (docs.slack.dev, "Verifying requests from Slack"), over the raw bytes.

    Written out rather than slack_sdk's SignatureVerifier, which raises on a body that is not UTF-8, on a
    timestamp that is not a number and on a non-ASCII signature: each an unsigned request's way to a 500."""
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    given = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}".encode(), given.encode("latin-1", "replace"))


class RefusedError(Exception):
    def __init__(self, status: str, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def read_body(environ: dict[str, Any], limit: int = MAX_BODY) -> bytes:
    """The request's body, never more than `limit` bytes of it read. Refused: too large, or an unreadable length."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    too_large = RefusedError("413 Content Too Large", f"the body is over {limit} bytes")
    if declared:
        if not (declared.isascii() and declared.isdigit()):
            raise RefusedError("400 Bad Request", "malformed request: Content-Length is not a number")
        if len(declared) > 12 or int(declared) > limit:
            raise too_large
        return environ["wsgi.input"].read(int(declared)) if int(declared) else b""
    if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING") or "").lower():
        body: bytes = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise too_large
        return body
    return b""


def make_wsgi(app: App, engine: Engine, metrics: Metrics | None = None, *, signing_secret: str,
              clock: Callable[[], float] = time.time, mail: WsgiApp | None = None) -> WsgiApp:
    """`metrics`: serve GET /metrics to requests bearing its token (401 without); None: /metrics is not there.
    `signing_secret`: Slack's, checked against every POST before its body is parsed; `clock`: epoch seconds.
    `mail`: what answers mail providers' POSTs to /mail/… (bot/server/mail_web.py), which Slack never signs."""
    if not signing_secret:
        raise ValueError("a signing secret is required: without one any request would pass as Slack's")
    slack = SlackRequestHandler(app, path=SLACK_PATH)
    secret = signing_secret.encode()

    def refuse(start_response: Callable[..., Any], status: str, error: str) -> Iterable[bytes]:
        body = json.dumps({"ok": False, "error": error}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def bad_request(start_response: Callable[..., Any], reason: str) -> Iterable[bytes]:
        return refuse(start_response, "400 Bad Request", f"malformed request: {reason}")

    def plain(start_response: Callable[..., Any], status: str, body: bytes, *headers: tuple[str, str]
              ) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                                *headers])
        return [body]

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if metrics is None:
            return serve(environ, start_response)
        started = time.perf_counter()
        try:
            return serve(environ, start_response)
        finally:
            metrics.latency.labels(path=_path_label(environ)).observe(time.perf_counter() - started)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if metrics is None:
                return plain(start_response, "404 Not Found", b"not found")
            if not metrics.allowed(str(environ.get("HTTP_AUTHORIZATION") or "")):
                return plain(start_response, "401 Unauthorized", b"a bearer token is required",
                             ("WWW-Authenticate", 'Bearer realm="rapport metrics"'))
            body = metrics.render()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            healthy = database_ok(engine)
            body = json.dumps({"ok": healthy, "database": "ok" if healthy else "unreachable"}).encode()
            start_response("200 OK" if healthy else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("REQUEST_METHOD") == "POST":
            if mail is not None and str(environ.get("PATH_INFO") or "").startswith(MAIL_PREFIX):
                return mail(environ, start_response)
            if environ.get("PATH_INFO") != SLACK_PATH:
                return plain(start_response, "404 Not Found", b"not found")
            return checked(environ, start_response)
        # Only POSTs carry a body Slack signed; the rest (the OAuth install pages) are served without one, so an
        # unsigned body is never read, let alone parsed, whatever its size
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(b""), "0"
        return slack(environ, start_response)

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            body = read_body(environ)
        except RefusedError as refused:
            log.info("refused a request: %s", refused.error)
            return refuse(start_response, refused.status, refused.error)
        if not signature_ok(secret, environ, body, clock()):
            log.info("refused a request without a valid, recent Slack signature")
            return refuse(start_response, "401 Unauthorized", "invalid request")
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads it again (and verifies the signature over it)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            reason = malformed(_payload_of(body.decode("utf-8"), str(environ.get("CONTENT_TYPE") or "")))
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            reason = "the body is not valid JSON or form data"
        if reason:
            log.info("refused a malformed request: %s", reason)
            return bad_request(start_response, reason)
        return slack(environ, start_response)

    return wsgi


KNOWN_PATHS = ("/slack/events", "/healthz", "/metrics", "/slack/install", "/slack/oauth_redirect", "/mail")
MAIL_PREFIX = "/mail/"


def _path_label(environ: dict[str, Any]) -> str:
    path = str(environ.get("PATH_INFO") or "")
    if path.startswith(MAIL_PREFIX):
        return "/mail"  # never the key
    return path if path in KNOWN_PATHS else "other"  # a label per arbitrary path would grow without bound
