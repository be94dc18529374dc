"""The one place recording and the transports find the readers (raw MIME, provider webhook bodies, mailboxes,
calendars): swapping how mail is read never touches what is done with it."""

from __future__ import annotations

from bot.capture.mail.calendar import read_calendar, settle_floating
from bot.capture.mail.mailbox_files import Folders, Unreadable, mailbox_bytes, read_mailbox
from bot.capture.mail.mailgun import MAILGUN_MAX_AGE, mailgun_replay_key, mailgun_signature_ok, read_mailgun
from bot.capture.mail.mime import read_mime
from bot.capture.mail.parsed import MalformedMailError
from bot.capture.mail.postmark import read_postmark
from bot.capture.mail.recurrence import occurrences
from bot.capture.mail.sendgrid import read_sendgrid

__all__ = ["MAILGUN_MAX_AGE", "Folders", "MalformedMailError", "Unreadable", "mailbox_bytes", "mailgun_replay_key",
           "mailgun_signature_ok", "occurrences", "read_calendar", "read_mailbox", "read_mailgun", "read_mime",
           "read_postmark", "read_sendgrid", "settle_floating"]
