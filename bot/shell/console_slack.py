"""A loopback stand-in for Slack, for the offline shell: it answers the few Web API methods Rapport calls and
keeps what was posted (messages, and replies to response_url) so the shell can show them. A shared file is saved
in the current directory (bot/shell/saved_files.py)."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bot.shell.saved_files import UPLOAD_PATH, SavedFiles


class ConsoleSlack:
    def __init__(self, files_directory: Path | None = None) -> None:
        received: list[dict[str, Any]] = []
        self.received = received
        stamps = itertools.count(1)
        saved = SavedFiles(files_directory)
        console = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(length)
                if self.path.startswith(UPLOAD_PATH):  # a shared file's bytes: not a Web API call
                    self._send({"ok": saved.receive(self.path.removeprefix(UPLOAD_PATH), sent)})
                    return
                raw = sent.decode()
                params: dict[str, Any] = {}
                with contextlib.suppress(ValueError):
                    params = json.loads(raw) if raw.startswith("{") else {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                answer: dict[str, Any] = {"ok": True}
                if method == "conversations.open":
                    answer["channel"] = {"id": "D" + str(params.get("users", "U"))[1:]}
                elif method == "conversations.history":
                    answer["messages"] = []
                elif method == "chat.postMessage":
                    answer.update(channel=params.get("channel"), ts=f"{next(stamps)}.000100")
                    received.append(params)
                elif method == "views.open":
                    received.append({"_opened": params.get("view")})
                elif method == "files.getUploadURLExternal":
                    answer = saved.upload_url(params, console.url)
                elif method == "files.completeUploadExternal":
                    answer, shown = saved.complete(params)
                    received.extend(shown)
                elif method not in ("auth.test", "users.info"):
                    received.append(params)
                self._send(answer)

            def _send(self, answer: dict[str, Any]) -> None:
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 server's address
        return f"http://{host}:{port}"

    def __enter__(self) -> ConsoleSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def drain(self) -> list[dict[str, Any]]:
        taken = list(self.received)
        del self.received[: len(taken)]
        return taken
