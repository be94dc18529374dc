"""SendGrid's Inbound Parse webhook (multipart/form-data) to a message's metadata.

Two modes: the default one posts the raw header block as `headers`, the addresses again as `from`, `to`,
`cc`, the text as `text`/`html`, and the attachments as files `attachment1`… described by the JSON
`attachment-info`; "POST the raw, full MIME message" posts the whole message as `email`. The caller decodes
the form's text fields as UTF-8 with errors="surrogateescape", so raw bytes of another charset survive and
are read here as the standard library reads 8-bit header bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.parser import HeaderParser

from bot.capture.mail.assemble import Found, assemble
from bot.capture.mail.forwarded import text_of_html
from bot.capture.mail.headers import Headers, utf8
from bot.capture.mail.mime import attach_message, read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail
from bot.capture.mail.sniff import attachment_kind, sniffed_kind


def read_sendgrid(fields: Mapping[str, str], files: Mapping[str, bytes], received_at: datetime) -> ParsedMail:
    """The metadata of one Inbound Parse post, in either mode. Raises MalformedMailError (one line) for a
    form that has neither `email` nor `headers`, or holds no readable address."""
    raw = fields.get("email")
    if raw:
        return read_mime(utf8(raw), received_at)
    if "headers" not in fields:
        raise MalformedMailError("the SendGrid form has neither `headers` nor `email`")
    try:
        message = HeaderParser(policy=policy.compat32).parsestr(fields["headers"] + "\n\n", headersonly=True)
        pairs = list(message.raw_items())
    except Exception:
        pairs = []
    # The header block wins; the decoded copies stand in for what it lacks.
    present = {str(name).lower() for name, _ in pairs}
    pairs += [(name.title(), fields[name]) for name in ("from", "to", "cc") if name not in present and fields.get(name)]
    found = Found()
    if fields.get("text"):
        found.texts.append(fields["text"])
    elif fields.get("html"):
        found.texts.append(text_of_html(fields["html"]))
    for name, data in files.items():
        kind, method = attachment_kind(*_described(fields, name))
        kind = kind or sniffed_kind(data)
        if kind == "calendar":
            found.calendars.append((data, method))
        elif kind == "message":
            attach_message(found, data, received_at)
    return assemble(Headers(pairs), received_at, found=found)


def _described(fields: Mapping[str, str], name: str) -> tuple[str, str]:
    try:
        info = json.loads(fields.get("attachment-info") or "{}")
    except (ValueError, RecursionError):
        return "", ""
    entry = info.get(name) if isinstance(info, dict) else None
    if not isinstance(entry, dict):
        return "", ""
    return str(entry.get("type") or ""), str(entry.get("filename") or entry.get("name") or "")
