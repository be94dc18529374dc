"""Postmark's inbound webhook (JSON) to a message's metadata.

Postmark hands over the addresses already split (FromFull, ToFull, CcFull; BccFull is the inbound address
itself and is not a recipient), the Date header's text, the other header fields as a `Headers` list (the
real Message-ID is there: `MessageID` is Postmark's own id of the delivery, so it is not the message's
identity), attachments base64-encoded (`Content`; the dashboard's "Check" payload says `Data`), and, when
"Include raw email content" is on, the whole message as `RawEmail`, which is then read instead.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.capture.mail.assemble import Found, assemble
from bot.capture.mail.forwarded import text_of_html
from bot.capture.mail.headers import Headers, utf8
from bot.capture.mail.mime import attach_message, read_mime
from bot.capture.mail.parsed import MalformedMailError, ParsedMail
from bot.capture.mail.sniff import attachment_kind


def read_postmark(body: bytes, received_at: datetime) -> ParsedMail:
    """The metadata of one Postmark inbound webhook body. Raises MalformedMailError (one line) for a body
    that is not Postmark's JSON or holds no readable address."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedMailError("the Postmark body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedMailError("the Postmark body is not a JSON object")
    raw = payload.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return read_mime(utf8(raw), received_at)
    pairs: list[tuple[str, str]] = [("Date", _text(payload, "Date"))]
    for header in _list(payload, "Headers"):
        if isinstance(header, Mapping) and isinstance(header.get("Name"), str):
            pairs.append((header["Name"], str(header.get("Value") or "")))
    if isinstance(payload.get("Subject"), str):
        pairs.append(("Subject", payload["Subject"]))
    found = Found()
    text = payload.get("TextBody")
    if isinstance(text, str) and text:
        found.texts.append(text)
    elif isinstance(payload.get("HtmlBody"), str):
        found.texts.append(text_of_html(payload["HtmlBody"]))
    for attachment in _list(payload, "Attachments"):
        _attachment(attachment, found, received_at)
    sender = _email(payload.get("FromFull")) or _text(payload, "From") or None
    recipients = [
        address
        for name in ("ToFull", "CcFull")
        for entry in _list(payload, name)
        if (address := _email(entry)) is not None
    ]
    if "ToFull" not in payload and "CcFull" not in payload:
        pairs += [("To", _text(payload, "To")), ("Cc", _text(payload, "Cc"))]
        return assemble(Headers(pairs), received_at, found=found, sender=sender)
    return assemble(Headers(pairs), received_at, found=found, sender=sender, recipients=recipients)


def _attachment(attachment: Any, found: Found, received_at: datetime) -> None:
    if not isinstance(attachment, Mapping):
        return
    content = attachment.get("Content", attachment.get("Data"))
    if not isinstance(content, str):
        return
    try:
        data = base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        return
    kind, method = attachment_kind(str(attachment.get("ContentType") or ""), str(attachment.get("Name") or ""))
    if kind == "calendar":
        found.calendars.append((data, method))
    elif kind == "message":
        attach_message(found, data, received_at)


def _list(payload: dict[str, Any], name: str) -> list[Any]:
    value = payload.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedMailError(f"the Postmark field {name} is not a list")
    return value


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    return value if isinstance(value, str) else ""


def _email(entry: Any) -> str | None:
    if isinstance(entry, Mapping) and isinstance(entry.get("Email"), str) and entry["Email"].strip():
        return str(entry["Email"])
    return None
