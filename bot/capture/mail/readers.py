"""The one place recording and the transports find the readers (raw MIME, provider webhook bodies, mailboxes,
calendars): swapping how mail is read never touches what is done with it."""

from __future__ import annotations

from bot.capture.mail.interim import (
    Unreadable,
    mailbox_bytes,
    mailgun_signature_ok,
    occurrences,
    read_calendar,
    read_mailbox,
    read_mailgun,
    read_mime,
    read_postmark,
    read_sendgrid,
    settle_floating,
)
from bot.capture.mail.parsed import MalformedMailError

__all__ = ["MalformedMailError", "Unreadable", "mailbox_bytes", "mailgun_signature_ok", "occurrences", "read_calendar",
           "read_mailbox", "read_mailgun", "read_mime", "read_postmark", "read_sendgrid", "settle_floating"]
