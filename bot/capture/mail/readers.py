"""The one place recording and the transports find the readers (raw MIME, provider webhook bodies, mailboxes,
calendars): swapping how mail is read never touches what is done with it."""

from __future__ import annotations

from bot.capture.mail.interim import Unreadable, occurrences, read_mailbox, read_mime
from bot.capture.mail.parsed import MalformedMailError

__all__ = ["MalformedMailError", "Unreadable", "occurrences", "read_mailbox", "read_mime"]
