"""A loopback fake of the Slack Web API (and of response_url), for tests. Never talks to Slack.

It answers form and JSON bodies, records every call, and can be told to fail the next calls to a
method with 429 + Retry-After, a 5xx, or a timeout that happens after the call was recorded; and (the
delivery fault modes below) with a 5xx or a dropped connection after the call was recorded, with a hook run
as each call arrives (to change the world while a post is in flight).
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.perf_counter)  # when it arrived, for benchmarks


# ---- Delivery fault modes (issue 20): outcomes a poster cannot see although Slack recorded the call ----
DROP = -1  # a status of our own: close the connection without answering
AFTER_RECORDING: dict[str, tuple[int, Any, dict[str, str]]] = {
    "5xx-after": (503, {"ok": False, "error": "service_unavailable"}, {}),  # recorded, then a 503
    "drop": (DROP, None, {}),  # recorded, then the connection drops: as a timeout, without the wait
}
# ---- end of the delivery fault modes ----


# ---- File uploads (issue 22): files.getUploadURLExternal, a POST of the bytes, files.completeUploadExternal ----
UPLOAD = "upload"  # the method name the bytes' POST is recorded (and can be failed) under
UPLOAD_PATH = "/upload/"


@dataclass
class SharedFile:
    id: str
    filename: str
    length: int
    data: bytes | None = None  # None until the bytes arrive at the upload URL
    title: str | None = None
    channel: str | None = None  # set when files.completeUploadExternal shares it
    initial_comment: str | None = None
    thread_ts: str | None = None
# ---- end of file uploads ----


@dataclass
class Failure:
    mode: str  # "429" | "5xx" | "timeout", or one of AFTER_RECORDING, or "ok" (a placeholder in a schedule)
    retry_after: int = 1


@dataclass
class FakeSlack:
    team_id: str = "T1"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    arrived: dict[str, float] = field(default_factory=dict)  # method -> when it was last called
    hang_seconds: float = 5.0
    channel_errors: dict[str, str] = field(default_factory=dict)
    # method -> the Slack error it answers with while set ("missing_scope" for an install without a scope)
    method_errors: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Slack's posting limit, roughly one message per second per channel: faster posts get 429 + Retry-After
    per_channel_interval: float | None = None
    # OAuth: what oauth.v2.access answers for each code, and the workspace each issued token belongs to
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    # conversations.info: channel id -> {"is_member": …, "is_ext_shared": …}; any other channel is not found
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Capture across workspaces (see _capture_answer): event_context -> what apps.event.authorizations.list lists
    event_authorizations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Called with (method, params) as each call arrives, before it is recorded: a test's way to act while a
    # post is in flight (forget its client, say). Runs on the server's thread; the caller waits for it.
    on_call: Callable[[str, dict[str, Any]], None] | None = None
    # Slack's clock, for a test whose sweeps run at injected times: a message's ts is then that time, and
    # conversations.history honours `oldest` as Slack does. Unset, ts are a counter and `oldest` is ignored.
    clock: Callable[[], datetime] | None = None
    # Uploads by file id, and the ones shared in each channel (files.completeUploadExternal), in order
    files: dict[str, SharedFile] = field(default_factory=dict)
    shared_files: dict[str, list[SharedFile]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._failures: dict[str, list[Failure]] = {}
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._release = threading.Event()
        self._last_post: dict[str, float] = {}
        self.rate_limited = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent, path = self.rfile.read(length), self.path
                if path.startswith(UPLOAD_PATH):  # a file's bytes, to the URL files.getUploadURLExternal gave
                    params: dict[str, Any] = {"file_id": path.removeprefix(UPLOAD_PATH), "data": sent}
                    path = "/api/" + UPLOAD
                elif "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(sent.decode() or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(sent.decode()).items()}
                status, body, headers = fake._answer(path, params, dict(self.headers))
                if status == DROP:
                    self.close_connection = True  # recorded, then the connection drops without an answer
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, method: str, mode: str, times: int = 1, retry_after: int = 1) -> None:
        self._failures.setdefault(method, []).extend(Failure(mode, retry_after) for _ in range(times))

    def _rate_limited(self, method: str, params: dict[str, Any]) -> float | None:
        """Seconds to wait, when a post comes too soon after the last one to its channel."""
        if self.per_channel_interval is None or method != "chat.postMessage":
            return None
        channel, now = str(params.get("channel")), time.monotonic()
        with self._changed:
            last = self._last_post.get(channel)
            if last is not None and now - last < self.per_channel_interval:
                return self.per_channel_interval - (now - last)
            self._last_post[channel] = now
        return None

    def _answer(self, path: str, params: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        method = path.split("?")[0].removeprefix("/api/").strip("/")
        wait = self._rate_limited(method, params)
        if wait is not None:
            self.rate_limited += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(max(1, math.ceil(wait)))}
        failures = self._failures.get(method)
        failure = failures.pop(0) if failures else None
        if self.on_call is not None:
            self.on_call(method, params)
        if failure and failure.mode == "429":
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after)}
        if failure and failure.mode == "5xx":
            return 503, {"ok": False, "error": "service_unavailable"}, {}
        with self._changed:
            call = Call(method, params, headers)
            self.calls.append(call)
            self.arrived[method] = call.at
            result = self._result(method, params, headers)
            self._changed.notify_all()
        if failure and failure.mode == "timeout":
            self._release.wait(self.hang_seconds)  # the message is recorded; the caller never hears so
        if failure and failure.mode in AFTER_RECORDING:
            return AFTER_RECORDING[failure.mode]
        return 200, result, {}

    def grant(self, code: str, team_id: str | None, *, enterprise_id: str | None = None, org_wide: bool = False,
              expires_in: int | None = None, installer: str = "UINSTALLER") -> None:
        """Let `code` install the app: into one team, or (org_wide) into every team of an Enterprise Grid org."""
        self.grants[code] = {"team_id": team_id, "enterprise_id": enterprise_id, "org_wide": org_wide,
                             "expires_in": expires_in, "installer": installer}

    def token_of(self, call: Call) -> str:
        return call.headers.get("Authorization", "").removeprefix("Bearer ")

    def _issue(self, owner: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ts)
        who = owner["team_id"] or owner["enterprise_id"]
        token = f"xoxb-{who}-{n}" if owner["expires_in"] is None else f"xoxe.xoxb-1-{who}-{n}"
        self.tokens[token] = owner
        issued: dict[str, Any] = {"access_token": token}
        if owner["expires_in"] is not None:
            refresh = f"xoxe-1-{who}-{n}"
            self.refresh_tokens[refresh] = owner
            issued.update(refresh_token=refresh, expires_in=owner["expires_in"])
        return issued

    def _oauth(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") == "refresh_token":
            owner = self.refresh_tokens.pop(str(params.get("refresh_token")), None)
            if owner is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, "token_type": "bot", **self._issue(owner)}
        owner = self.grants.pop(str(params.get("code")), None)
        if owner is None:
            return {"ok": False, "error": "invalid_code"}
        team = {"id": owner["team_id"], "name": f"Team {owner['team_id']}"} if owner["team_id"] else None
        enterprise = {"id": owner["enterprise_id"], "name": "Org"} if owner["enterprise_id"] else None
        return {"ok": True, "app_id": "A1", "token_type": "bot", "scope": "commands,chat:write",
                "bot_user_id": "UBOT", "team": team, "enterprise": enterprise,
                "is_enterprise_install": owner["org_wide"],
                "authed_user": {"id": owner["installer"]}, **self._issue(owner)}

    def _result(self, method: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        token = (headers or {}).get("Authorization", "").removeprefix("Bearer ")
        if token in self.revoked:
            return {"ok": False, "error": "token_revoked"}
        if method in self.method_errors:
            return {"ok": False, "error": self.method_errors[method]}
        captured = self._capture_answer(method, params, token) or self._file_answer(method, params)
        if captured is not None:
            return captured
        if method == "oauth.v2.access":
            return self._oauth(params)
        if method == "auth.test":
            owner = self.tokens.get(token)
            if owner is not None:
                return {"ok": True, "team_id": owner["team_id"], "enterprise_id": owner["enterprise_id"],
                        "is_enterprise_install": owner["org_wide"], "user_id": "UBOT", "bot_id": "BBOT",
                        "url": "https://org.example/"}
            return {"ok": True, "team_id": self.team_id, "user_id": "UBOT", "bot_id": "BBOT", "team": "Test"}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": params.get("user"), **user}}
        if method == "chat.postMessage":
            channel = str(params.get("channel"))
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            n = next(self._ts)
            ts = f"{int(self.clock().timestamp())}.{n:06d}" if self.clock else f"{n}.000100"
            message = {"ts": ts, "channel": channel, "text": params.get("text"),
                       "blocks": params.get("blocks"), "metadata": params.get("metadata")}
            self.messages.setdefault(channel, []).append(message)
            return {"ok": True, "channel": channel, "ts": message["ts"]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", ""))[1:]}}
        if method == "conversations.info":
            channel = self.channels.get(str(params.get("channel")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": params.get("channel"), **channel}}
        if method == "chat.getPermalink":
            ts = str(params.get("message_ts", ""))
            return {"ok": True, "channel": params.get("channel"),
                    "permalink": f"https://test.slack.com/archives/{params.get('channel')}/p{ts.replace('.', '')}"}
        if method == "conversations.history":  # newest first, a page of `limit` at a time
            history = list(reversed(self.messages.get(str(params.get("channel")), [])))
            if self.clock and params.get("oldest"):
                history = [m for m in history if float(m["ts"]) >= float(params["oldest"])]
            start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
            more = start + limit < len(history)
            return {"ok": True, "messages": history[start:start + limit], "has_more": more,
                    "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
        return {"ok": True}

    # --- Capture across workspaces (issue 20): Slack Connect events seen by several installations -------------

    def _capture_answer(self, method: str, params: dict[str, Any], token: str) -> dict[str, Any] | None:
        """apps.event.authorizations.list (app-level tokens only, as Slack requires), and permalinks in the
        domain of the workspace whose token asks; None for everything else."""
        if method == "apps.event.authorizations.list":
            if not token.startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            listed = self.event_authorizations.get(str(params.get("event_context")))
            if listed is None:
                return {"ok": False, "error": "invalid_event_context"}
            return {"ok": True, "authorizations": listed, "response_metadata": {"next_cursor": ""}}
        owner = self.tokens.get(token)
        if method == "chat.getPermalink" and owner is not None:
            domain = (owner["team_id"] or owner["enterprise_id"]).lower()
            ts = str(params.get("message_ts", ""))
            return {"ok": True, "channel": params.get("channel"), "permalink":
                    f"https://{domain}.slack.com/archives/{params.get('channel')}/p{ts.replace('.', '')}"}
        return None

    # --- File uploads (issue 22) --------------------------------------------------------------------------------

    def _file_answer(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The three steps of an external upload, checked as Slack checks them; None for every other method."""
        if method == "files.getUploadURLExternal":
            if not params.get("filename") or not str(params.get("length", "")).isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):06d}"
            self.files[file_id] = SharedFile(file_id, str(params["filename"]), int(params["length"]))
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}{UPLOAD_PATH}{file_id}"}
        if method == UPLOAD:
            upload = self.files.get(str(params["file_id"]))
            if upload is None:
                return {"ok": False, "error": "file_not_found"}
            upload.data = params["data"]
            return {"ok": True}
        if method == "files.completeUploadExternal":
            channel = params.get("channel_id")
            if channel and channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            listed = json.loads(params.get("files") or "[]")
            uploads = [self.files.get(str(f.get("id"))) for f in listed]
            if not uploads or any(u is None or u.data is None for u in uploads):
                return {"ok": False, "error": "file_upload_not_found"}
            done: list[dict[str, Any]] = []
            for upload, entry in zip(uploads, listed, strict=True):
                assert upload is not None
                upload.title, upload.channel = entry.get("title"), channel
                upload.initial_comment, upload.thread_ts = params.get("initial_comment"), params.get("thread_ts")
                if channel:
                    self.shared_files.setdefault(channel, []).append(upload)
                done.append({"id": upload.id, "name": upload.filename, "title": upload.title})
            return {"ok": True, "files": done}
        return None

    def posted_nudge_ids(self) -> list[int]:
        """Every nudge id carried by any message, once per message that carried it."""
        return [nudge_id for history in self.messages.values() for m in history
                for nudge_id in ((m.get("metadata") or {}).get("event_payload") or {}).get("nudge_ids", [])]

    def carriers(self) -> dict[int, list[tuple[str, str]]]:
        """For each nudge id posted, the (channel, ts) of every message that carried it."""
        found: dict[int, list[tuple[str, str]]] = {}
        for channel, history in self.messages.items():
            for m in history:
                for nudge_id in ((m.get("metadata") or {}).get("event_payload") or {}).get("nudge_ids", []):
                    found.setdefault(nudge_id, []).append((channel, m["ts"]))
        return found

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` calls to `method` were recorded (listeners run after the HTTP ack)."""
        self.wait_until(lambda: len(self.called(method)) >= count, timeout)
        return self.called(method)

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)
