"""Mail arriving for an inbound key, whatever carried it (a provider's webhook, SMTP): which workspace it is for,
and recording it in one transaction of its own (PRODUCT.md §5 *Mail is never lost or doubled*). The transport
answers success only once `deliver` has returned: the message is committed; an outage raises, so it answers
"try again" and the sender keeps the message."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.mail.parsed import ParsedMail
from bot.capture.mail.record import count, record_one
from bot.slack.message_updates import MessageUpdate
from bot.workspaces import tz_of
from storage.db import reading
from storage.mail import workspace_for_key

log = logging.getLogger(__name__)
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what a key can look like; anything else is no key of ours


class RefusedMailError(Exception):
    """The message may not be recorded (a replayed Mailgun token): nothing was written."""


@dataclass(frozen=True)
class Inbox:
    workspace_id: int
    zone: ZoneInfo  # the workspace's: days for the counts, invitation times with no zone


def inbox_for(sessions: sessionmaker[Session], key: str, default_zone: ZoneInfo) -> Inbox | None:
    """The workspace a key belongs to, or None. Reads only; a database outage raises."""
    if not KEY.fullmatch(key):
        return None
    with reading(sessions) as session:
        workspace = workspace_for_key(session, key.lower())
        return Inbox(workspace.id, tz_of(workspace, default_zone)) if workspace is not None else None


def deliver(sessions: sessionmaker[Session], inbox: Inbox, mail: ParsedMail, now: datetime,
            check: Callable[[Session], bool] | None = None) -> tuple[str, list[MessageUpdate]]:
    """One message, one transaction: committed when this returns (what became of it, and the posted cards it
    closed, to rewrite in Slack). `check`, run first in the same transaction, may refuse the message
    (RefusedMailError). Two copies racing (three teammates BCC one thread) are settled by the database: the loser
    runs again and finds the message recorded."""
    for attempt in range(2):
        try:
            with sessions.begin() as session:
                if check is not None and not check(session):
                    raise RefusedMailError
                outcome, updates = record_one(session, inbox.workspace_id, mail, arrived_at=now, now=now,
                                              zone=inbox.zone)
            break
        except IntegrityError:
            if attempt:
                raise
    try:  # the week's counts, apart: the message is committed whatever becomes of its count
        with sessions.begin() as session:
            count(session, inbox.workspace_id, Counter({outcome: 1}), now, inbox.zone)
    except Exception as exc:
        log.warning("a captured message was not counted in the week's figures (%s)", type(exc).__name__)
    return outcome, updates
