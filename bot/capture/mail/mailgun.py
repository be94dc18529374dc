"""Mailgun routes (forward() to a URL) to a message's metadata, and Mailgun's signature.

The parsed variant posts `message-headers` (a JSON list of [name, value], in order), each common header
again as its own field (`From`, `To`, `Cc`, `Date`, `Message-Id`…, plus lowercase `from`, `sender`
(the envelope), `recipient`), `body-plain`, and attachments as files `attachment-1`…; a route URL ending in
`mime` gets the whole message as `body-mime` instead.

The signature is the hex HMAC-SHA256 of `timestamp` + `token`, keyed with the webhook signing key. Mailgun
retries a failed POST for 8 hours (10 min, 15 min, 30 min, 1 h, 2 h, 4 h) and a retry carries the first
attempt's signature (Hookdeck's Mailgun reference, cited in PostHog/posthog#103057; laravel-mailbox#93 lost
mail to a short window under load). So a timestamp up to MAILGUN_MAX_AGE old is accepted, and one more than
MAILGUN_MAX_AHEAD in the future is refused. Within that window a replayed token is the caller's to refuse:
keep `mailgun_replay_key(token)` for MAILGUN_MAX_AGE and refuse one seen before (a replay of a message
already recorded is also refused by the message's identity).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.capture.mail.assemble import Found, assemble
from bot.capture.mail.headers import Headers, utf8
from bot.capture.mail.mime import attach_message, read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail
from bot.capture.mail.sniff import sniffed_kind

MAILGUN_MAX_AGE = timedelta(hours=9)  # the 8 hours of retries and an hour of queueing and clock skew
MAILGUN_MAX_AHEAD = timedelta(minutes=5)
_HEADER_FIELDS = (
    "From",
    "To",
    "Cc",
    "Date",
    "Message-Id",
    "Subject",
    "Sender",
    "Auto-Submitted",
    "Precedence",
    "List-Id",
    "List-Unsubscribe",
    "X-Autoreply",
    "X-Autorespond",
    "Content-Type",
)


def read_mailgun(fields: Mapping[str, str], files: Mapping[str, bytes], received_at: datetime) -> ParsedMail:
    """The metadata of one route POST, parsed or MIME. Raises MalformedMailError (one line) for a form that
    has neither `message-headers`, header fields nor `body-mime`, or holds no readable address."""
    raw = fields.get("body-mime")
    if raw:
        return read_mime(utf8(raw), received_at)
    pairs: list[tuple[str, str]] = []
    listed = fields.get("message-headers")
    if listed:
        try:
            headers = json.loads(listed)
        except (ValueError, RecursionError):
            raise MalformedMailError("the Mailgun field message-headers is not JSON") from None
        if not isinstance(headers, list):
            raise MalformedMailError("the Mailgun field message-headers is not a list")
        pairs = [(str(h[0]), str(h[1])) for h in headers if isinstance(h, list) and len(h) == 2]
    else:
        pairs = [(name, fields[name]) for name in _HEADER_FIELDS if fields.get(name)]
        if fields.get("from") and not fields.get("From"):
            pairs.append(("From", fields["from"]))
        if not pairs:
            raise MalformedMailError("the Mailgun form has neither message-headers nor body-mime")
    found = Found()
    if fields.get("body-plain"):
        found.texts.append(fields["body-plain"])
    for data in files.values():
        kind = sniffed_kind(data)
        if kind == "calendar":
            found.calendars.append((data, None))
        elif kind == "message":
            attach_message(found, data, received_at)
    content_type = next((value for name, value in pairs if name.lower() == "content-type"), "")
    return assemble(Headers(pairs), received_at, found=found, content_type=content_type.split(";")[0].strip())


def mailgun_signature_ok(signing_key: str, timestamp: str, token: str, signature: str, now: datetime) -> bool:
    """Whether a Mailgun request is signed with `signing_key` and its timestamp is neither older than
    MAILGUN_MAX_AGE nor more than MAILGUN_MAX_AHEAD ahead of `now`. Any missing or malformed part is False."""
    if not (signing_key and timestamp and token and signature) or len(timestamp) > 20 or len(token) > 256:
        return False
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        return False
    if not now - MAILGUN_MAX_AGE <= signed_at <= now + MAILGUN_MAX_AHEAD:
        return False
    try:
        signed = f"{timestamp}{token}".encode()
        expected = hmac.new(signing_key.encode(), signed, hashlib.sha256).hexdigest()
    except UnicodeEncodeError:  # a lone surrogate in a form field signs nothing
        return False
    return hmac.compare_digest(expected, signature.strip().lower().encode("ascii", "replace").decode())


def mailgun_replay_key(token: str) -> str:
    """What to keep of a Mailgun token (for MAILGUN_MAX_AGE) to refuse it the second time: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
