"""The WSGI application gunicorn serves: Slack's endpoint plus a health check."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
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


def _payload_of(body: bytes, content_type: str) -> object:
    if "json" in content_type:
        return json.loads(body or b"{}")
    form = parse_qs(body.decode("utf-8"))
    if "payload" in form:
        return json.loads(form["payload"][0])
    return {}  # a slash command: every field a string by construction


def make_wsgi(app: App, engine: Engine, metrics: Metrics | None = None) -> WsgiApp:
    """`metrics`: serve GET /metrics to requests bearing its token (401 without); None: /metrics is not there."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def bad_request(start_response: Callable[..., Any], reason: str) -> Iterable[bytes]:
        body = json.dumps({"ok": False, "error": f"malformed request: {reason}"}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

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
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads it again (and verifies the signature over it)
            try:
                reason = malformed(_payload_of(body, environ.get("CONTENT_TYPE") or ""))
            except (ValueError, UnicodeDecodeError):
                reason = "the body is not valid JSON or form data"
            if reason:
                log.info("refused a malformed request: %s", reason)
                return bad_request(start_response, reason)
        return slack(environ, start_response)

    return wsgi


KNOWN_PATHS = ("/slack/events", "/healthz", "/metrics", "/slack/install", "/slack/oauth_redirect")


def _path_label(environ: dict[str, Any]) -> str:
    path = str(environ.get("PATH_INFO") or "")
    return path if path in KNOWN_PATHS else "other"  # a label per arbitrary path would grow without bound
