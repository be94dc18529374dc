"""`POST /mail/<provider>/<key>` on `rapport serve` (PRODUCT.md §4.15): mail a provider received for a workspace.

Checked cheapest first: the provider (404), the declared size (over MAX_MAIL: 413, read no further), the key (404;
the database away: 503), the body's shape (400, one line), Mailgun's signature when RAPPORT_MAILGUN_SIGNING_KEY is
set (401). Then the message is recorded in one transaction: 200 only once it is committed, 503 while the database
is away (the provider keeps it and retries). Never a 500: whatever goes wrong unexpectedly is a 503, so the
provider keeps the message, and is logged without its content. Nothing of a message (address, subject, body) is
logged at any level; the key in the path is masked in every log.
"""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import multipart
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.inbound import Inbox, RefusedMailError, deliver, inbox_for
from bot.capture.mail.parsed import ParsedMail
from bot.capture.mail.readers import (
    MAILGUN_MAX_AGE,
    MalformedMailError,
    mailgun_replay_key,
    mailgun_signature_ok,
    read_mailgun,
    read_mime,
    read_postmark,
    read_sendgrid,
)
from bot.server.web import RefusedError, read_body
from bot.settings import Settings
from bot.slack.installs import WorkspaceTokens
from bot.slack.message_updates import MessageUpdate, rewrite
from storage.db import is_outage
from storage.mail import first_use_of_token
from storage.models import Workspace

log = logging.getLogger(__name__)

PROVIDERS = ("postmark", "sendgrid", "mailgun", "mime")
MAX_MAIL = 10 * 1024 * 1024  # bytes: a message with its attachments; providers cap theirs near this
PATH = re.compile(r"/mail/([^/]*)/([^/]*)/?")
TOKENS_KEPT = max(MAILGUN_MAX_AGE, timedelta(hours=1))  # as long as a signed timestamp is accepted
Start = Callable[..., Any]


class BadBodyError(Exception):
    """The body is not of the shape its provider sends: a 400 with this one-line reason."""


def _form(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """A form body (multipart or urlencoded) as its text fields and its files, first value of each name."""
    kind, options = multipart.parse_options_header(content_type)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if kind == "multipart/form-data":
        if not options.get("boundary"):
            raise BadBodyError("multipart/form-data without a boundary")
        try:
            parser = multipart.MultipartParser(io.BytesIO(body), options["boundary"], len(body), strict=True,
                                               part_limit=2000, partsize_limit=MAX_MAIL, memory_limit=MAX_MAIL * 2,
                                               spool_limit=MAX_MAIL * 2, disk_limit=0)
            for part in parser:
                if part.filename is None:  # as the readers take them: raw bytes of another charset survive
                    fields.setdefault(part.name, part.raw.decode("utf-8", "surrogateescape"))
                else:
                    files.setdefault(part.name, part.raw)
        except multipart.MultipartError as exc:
            why = (str(exc).splitlines() or ["unreadable"])[0][:120]
            raise BadBodyError(f"the body is not valid multipart/form-data ({why})") from None
        except (UnicodeDecodeError, LookupError):
            raise BadBodyError("a form field is not text in the charset it names") from None
        return fields, files
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=5000)
        except (UnicodeDecodeError, ValueError):
            raise BadBodyError("the body is not valid form data") from None
        for name, value in pairs:
            fields.setdefault(name, value)
        return fields, files
    raise BadBodyError(f"a form was expected (multipart/form-data or urlencoded), not {kind[:60]!r}")


class MailWebhooks:
    """The WSGI handler for /mail/…; `now` is the clock (timezone-aware UTC)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), cards: CardUpdates | None = None) -> None:
        self.sessions, self.settings, self.now, self.cards = sessions, settings, now, cards

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = PATH.fullmatch(str(environ.get("PATH_INFO") or ""))
        if path is None or path.group(1) not in PROVIDERS:
            return _answer(start_response, "404 Not Found", "unknown mail provider: use postmark, sendgrid, "
                                                            "mailgun or mime")
        provider, key = path.groups()
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        if declared.isdigit() and len(declared) < 13 and int(declared) > MAX_MAIL:
            return _answer(start_response, "413 Content Too Large", f"the message is over {MAX_MAIL} bytes")
        try:
            inbox = inbox_for(self.sessions, key, self.settings.tz)
        except Exception as exc:
            return self._failed(start_response, exc)
        if inbox is None:
            return _answer(start_response, "404 Not Found", "unknown key: /client mail shows this workspace's")
        try:
            body = read_body(environ, MAX_MAIL)
        except RefusedError as refused:
            return _answer(start_response, refused.status, refused.error)
        content_type = str(environ.get("CONTENT_TYPE") or "")
        try:
            mail, token = self._read(provider, body, content_type)
        except (BadBodyError, MalformedMailError) as exc:
            log.info("refused a %s webhook: %s", provider, exc)
            return _answer(start_response, "400 Bad Request", _one_line(str(exc)))
        except RecursionError:
            return _answer(start_response, "400 Bad Request", "the message nests too deeply to read")
        except Exception as exc:  # a reader's own failure on input it could not handle: the same input fails again
            log.error("a %s webhook's message could not be read (%s):\n%s", provider, type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)))
            return _answer(start_response, "400 Bad Request", "the message could not be read")
        if token is False:
            log.info("refused a Mailgun webhook without a valid, recent signature")
            return _answer(start_response, "401 Unauthorized", "invalid or stale Mailgun signature")
        return self._record(start_response, provider, inbox, mail, token)

    def _read(self, provider: str, body: bytes, content_type: str) -> tuple[ParsedMail, str | bool | None]:
        """The message, and for Mailgun its signed token (False: the signature does not hold; None: unsigned)."""
        now = self.now()
        if provider == "mime":
            return read_mime(body, now), None
        if provider == "postmark":
            return read_postmark(body, now), None
        fields, files = _form(body, content_type)
        if provider == "sendgrid":
            return read_sendgrid(fields, files, now), None
        token: str | bool | None = None
        if self.settings.mailgun_signing_key:
            token = fields.get("token", "")
            # a signature's age is real time, whatever clock the recording uses
            if not (token and mailgun_signature_ok(self.settings.mailgun_signing_key, fields.get("timestamp", ""),
                                                   token, fields.get("signature", ""), datetime.now(UTC))):
                return _nothing(), False
        return read_mailgun(fields, files, now), token

    def _record(self, start_response: Start, provider: str, inbox: Inbox, mail: ParsedMail,
                token: str | bool | None) -> Iterable[bytes]:
        now = self.now()
        check = None
        if isinstance(token, str):
            def check(session: Session) -> bool:
                return first_use_of_token(session, inbox.workspace_id, mailgun_replay_key(token), now,
                                          now - TOKENS_KEPT)
        try:
            outcome, updates = deliver(self.sessions, inbox, mail, now, check)
        except RefusedMailError:
            log.info("refused a Mailgun webhook whose token was used before (a replay)")
            return _answer(start_response, "401 Unauthorized", "this Mailgun token was used before (a replay)")
        except Exception as exc:
            return self._failed(start_response, exc)
        log.info("mail from %s recorded for workspace %s: %s", provider, inbox.workspace_id, outcome)
        if updates and self.cards is not None:
            self.cards(inbox.workspace_id, updates)
        body = json.dumps({"ok": True, "outcome": outcome}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _failed(self, start_response: Start, exc: Exception) -> Iterable[bytes]:
        if is_outage(exc):
            log.warning("mail webhook: the database is unavailable (%s); answered 503, the provider retries",
                        type(exc).__name__)
            return _answer(start_response, "503 Service Unavailable", "the database is unavailable; nothing was "
                                                                      "saved, try again later", retry=True)
        # where it failed, not what it said: an exception's message could quote the mail
        log.error("mail webhook failed unexpectedly (%s); answered 503 so the provider keeps the message:\n%s",
                  type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return _answer(start_response, "503 Service Unavailable", "the message could not be recorded; nothing was "
                                                                  "saved, try again later", retry=True)


class CardUpdates:
    """Cards a captured touch closed, rewritten in Slack after the commit (best effort, on a thread of their own so
    a provider's answer never waits on Slack), with the workspace's own bot token."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], engine: Engine) -> None:
        self.settings, self.sessions = settings, sessions
        self.tokens = WorkspaceTokens(settings, engine) if settings.oauth else None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rapport-mail-cards")

    def __call__(self, workspace_id: int, updates: list[MessageUpdate]) -> None:
        self.pool.submit(self._send, workspace_id, updates)

    def _send(self, workspace_id: int, updates: list[MessageUpdate]) -> None:
        try:
            token = self.settings.slack_bot_token
            if self.tokens is not None:
                with self.sessions() as session:
                    workspace = session.get(Workspace, workspace_id)
                    token = self.tokens.bot_token(workspace.enterprise_id or None, workspace.team_id) \
                        if workspace is not None else None
            if token:
                rewrite(WebClient(token=token, base_url=self.settings.slack_api_url, timeout=10), updates)
        except Exception as exc:  # the touch is saved either way; the card's buttons answer "already handled"
            log.warning("could not bring closed cards up to date in Slack (%s)", type(exc).__name__)


def _nothing() -> ParsedMail:
    return ParsedMail(identity="", sender=None, recipients=(), sent_at=datetime.now(UTC), automated=None,
                      forwarded=None, meetings=())


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300] or "the body cannot be read as mail"


def _answer(start_response: Start, status: str, error: str, *, retry: bool = False) -> Iterable[bytes]:
    body = json.dumps({"ok": False, "error": error}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if retry:
        headers.append(("Retry-After", "60"))
    start_response(status, headers)
    return [body]
