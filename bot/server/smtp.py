"""`rapport mail-server`: client mail received over SMTP for the workspaces' inbound keys (PRODUCT.md §4.15), on
aiosmtpd.

An address is `<key>@$RAPPORT_MAIL_DOMAIN` (`<key>+anything@…` too): an unknown key is refused at RCPT (550), as
is another domain when RAPPORT_MAIL_DOMAIN is set (Rapport relays nothing). A message is accepted (250) only once
it is committed, for every workspace it was addressed to; with the database away the answer is a temporary 451, so
the sending server keeps it and tries again. Nothing of a message is logged: aiosmtpd's own lines (which quote
addresses at INFO) are kept to warnings.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.inbound import Inbox, deliver, inbox_for
from bot.capture.mail.readers import MalformedMailError, read_mime
from bot.database import open_database
from bot.server.mail_web import MAX_MAIL, CardUpdates
from bot.settings import Settings
from storage.db import is_outage

log = logging.getLogger(__name__)
AWAY = "451 4.3.0 The database is unavailable; nothing was saved. Try again later"
FAILED = "451 4.3.0 The message could not be recorded; nothing was saved. Try again later"


class Receiver:
    """aiosmtpd's handler. Database work runs on a worker thread, never on the event loop."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), cards: CardUpdates | None = None) -> None:
        self.sessions, self.settings, self.now, self.cards = sessions, settings, now, cards

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str,  # noqa: N802 (aiosmtpd calls it so)
                          rcpt_options: list[str]) -> str:
        local, at, domain = address.rpartition("@")
        if not at:
            return "553 5.1.3 An address needs a domain"
        if self.settings.mail_domain and domain.lower() != self.settings.mail_domain:
            return "550 5.7.1 Not a Rapport address: this server relays nothing"
        key = local.split("+", 1)[0]
        try:
            inbox = await _off_loop(inbox_for, self.sessions, key, self.settings.tz)
        except Exception as exc:
            return _failure(exc)
        if inbox is None:
            return "550 5.1.1 No such inbound key here: /client mail shows your workspace's address"
        inboxes: list[Inbox] = getattr(envelope, "rapport_inboxes", [])
        if inbox not in inboxes:
            inboxes.append(inbox)
        envelope.rapport_inboxes = inboxes  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        now = self.now()
        try:
            mail = read_mime(raw, now)
        except MalformedMailError as exc:
            return f"550 5.6.0 {' '.join(str(exc).split())[:200]}"
        except RecursionError:
            return "550 5.6.0 The message nests too deeply to read"
        except Exception as exc:  # the reader failed on what it was given: sending it again fails the same way
            log.error("mail-server: a message could not be read (%s)", type(exc).__name__)
            return "550 5.6.0 The message could not be read"
        for inbox in getattr(envelope, "rapport_inboxes", []):
            try:  # each workspace's copy is its own transaction; one committed before an outage is not doubled
                outcome, updates = await _off_loop(deliver, self.sessions, inbox, mail, now)
            except Exception as exc:
                return _failure(exc)
            log.info("mail over SMTP recorded for workspace %s: %s", inbox.workspace_id, outcome)
            if updates and self.cards is not None:
                self.cards(inbox.workspace_id, updates)
        return "250 2.0.0 Recorded"


class _LenientSMTP(SMTP):
    """RFC 5321 caps a line at 1,000 octets, but mail with longer lines (HTML on one line) is common, and
    refusing it bounces the message for good: like Postfix, lines are taken as long as the message may be."""

    line_length_limit = MAX_MAIL


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _LenientSMTP(self.handler, **self.SMTP_kwargs)


async def _off_loop(work: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, partial(work, *args))


def _failure(exc: Exception) -> str:
    if is_outage(exc):
        log.warning("mail-server: the database is unavailable (%s); answered 451, the sender retries",
                    type(exc).__name__)
        return AWAY
    log.error("mail-server: a message could not be recorded (%s); answered 451 so the sender keeps it",
              type(exc).__name__)
    return FAILED


def serve_mail(settings: Settings, *, host: str = "0.0.0.0", ready: threading.Event | None = None,
               stop: threading.Event | None = None) -> int:
    """Until SIGTERM or SIGINT (or `stop`): receive on RAPPORT_SMTP_PORT."""
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd quotes addresses at INFO
    database = open_database(settings)
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    cards = CardUpdates(settings, database.sessions, database.engine) if settings.slack_bot_token or \
        settings.oauth else None  # cards a captured touch closed are rewritten where Slack can be reached
    controller = _Controller(Receiver(database.sessions, settings, cards=cards), hostname=host, port=settings.smtp_port,
                            data_size_limit=MAX_MAIL, decode_data=False, server_hostname="rapport",
                            ident="Rapport mail-server")
    controller.start()
    print(f"rapport mail-server: receiving on port {settings.smtp_port}", flush=True)
    if ready is not None:
        ready.set()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
        database.engine.dispose()
    print("rapport mail-server: stopped", flush=True)
    return 0
