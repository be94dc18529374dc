# mypy: ignore-errors
"""TEMPORARY readers, until the reading half of issue 31 (branch i31r) is merged: just enough of its functions, with
its signatures, for the transports and recording to be built and tested. Replaced by theirs, then deleted; nothing
but bot/capture/mail/readers.py imports this."""

from __future__ import annotations

import email
import hashlib
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from bot.capture.mail.parsed import MalformedMailError, Meeting, ParsedMail


@dataclass(frozen=True)
class Unreadable:
    path: Path
    number: int | None
    why: str

    @property
    def where(self) -> str:
        return str(self.path) if self.number is None else f"{self.path}, message {self.number}"


def _addresses(message: EmailMessage, *names: str) -> tuple[str, ...]:
    found: list[str] = []
    for _, address in getaddresses([str(v) for n in names for v in (message.get_all(n) or [])]):
        address = address.strip().lower()
        if "@" in address and address not in found:
            found.append(address)
    return tuple(found)


def _from_message(message: EmailMessage, received_at: datetime, depth: int = 0) -> ParsedMail:
    if not message.keys():
        raise MalformedMailError("no headers: this is not an RFC 822 message")
    raw_date = str(message.get("Date") or "")
    try:
        sent = parsedate_to_datetime(raw_date) if raw_date else None
    except (TypeError, ValueError, IndexError):
        sent = None
    sent_at = sent.astimezone(UTC) if sent is not None and sent.tzinfo is not None else received_at
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To", "Cc")
    message_id = str(message.get("Message-ID") or "").strip()
    basis = message_id or "|".join([senders[0] if senders else "", sent_at.isoformat(), *sorted(recipients)])
    automated = None
    if str(message.get("Auto-Submitted") or "no").strip().lower() != "no" or message.get("X-Autoreply"):
        automated = "auto-reply"
    elif str(message.get("Precedence") or "").strip().lower() in ("bulk", "list", "junk"):
        automated = "bulk"
    elif message.get("List-Id") or message.get("List-Unsubscribe"):
        automated = "list"
    forwarded = None
    if depth < 5:
        for part in message.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload(0) if part.is_multipart() else None
                if isinstance(inner, EmailMessage):
                    forwarded = _from_message(inner, received_at, depth + 1)
                    break
    return ParsedMail(identity=hashlib.sha256(basis.encode()).hexdigest(), sender=senders[0] if senders else None,
                      recipients=recipients, sent_at=sent_at, automated=automated, forwarded=forwarded, meetings=())


def read_mime(raw: bytes, received_at: datetime, *, fallback_date: datetime | None = None) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return _from_message(message, received_at)


def mailbox_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in _files(path))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".")
                                                                         for part in p.relative_to(path).parts))


def read_mailbox(path: Path, received_at: datetime, *, progress=None) -> Iterator[ParsedMail | Unreadable]:
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    for file in _files(path):
        if progress is not None:
            progress(file.stat().st_size)
        suffix = file.suffix.lower()
        try:
            if suffix == ".eml":
                yield read_mime(file.read_bytes(), received_at)
            elif suffix == ".ics":
                meetings = read_calendar(file.read_bytes())
                yield ParsedMail(identity=hashlib.sha256(file.read_bytes()).hexdigest(), sender=None, recipients=(),
                                 sent_at=received_at, automated=None, forwarded=None, meetings=meetings)
            else:
                for number, message in enumerate(mailbox.mbox(str(file), factory=lambda f: parser.parse(
                        f, headersonly=True)), start=1):
                    try:
                        yield _from_message(message, received_at)
                    except MalformedMailError as exc:
                        yield Unreadable(file, number, str(exc))
        except MalformedMailError as exc:
            yield Unreadable(file, None, str(exc))


def occurrences(meeting: Meeting, after: datetime, until: datetime, zone_if_floating: str) -> list[datetime]:
    if meeting.start is None:
        return []
    if not meeting.rrule:
        return [meeting.start] if after < meeting.start <= until else []
    zone = ZoneInfo(meeting.zone or zone_if_floating)
    rule = rrulestr(meeting.rrule, dtstart=meeting.start.astimezone(zone), ignoretz=False)
    found = []
    for at in rule:
        at = at.astimezone(UTC)
        if at > until:
            break
        if at > after and at not in meeting.exdates:
            found.append(at)
    return found


def settle_floating(meeting: Meeting, zone_name: str) -> Meeting:
    import dataclasses

    if not meeting.floating:
        return meeting
    place = ZoneInfo(zone_name)

    def settle(value: datetime) -> datetime:
        return value.replace(tzinfo=None).replace(tzinfo=place).astimezone(UTC)

    return dataclasses.replace(meeting, start=None if meeting.start is None else settle(meeting.start),
                               end=None if meeting.end is None else settle(meeting.end),
                               recurrence_id=None if meeting.recurrence_id is None else settle(meeting.recurrence_id),
                               exdates=tuple(settle(v) for v in meeting.exdates), zone=zone_name, floating=False)


def _from_headers(block: str, received_at: datetime) -> ParsedMail:
    return read_mime(block.encode("utf-8", "replace") + b"\r\n\r\n", received_at)


def read_postmark(body: bytes, received_at: datetime) -> ParsedMail:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        raise MalformedMailError("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("Headers", []), list):
        raise MalformedMailError("not Postmark's inbound JSON")
    lines = [f"{h.get('Name')}: {h.get('Value')}" for h in data.get("Headers", []) if isinstance(h, dict)]
    sender = (data.get("FromFull") or {}).get("Email") or data.get("From") or ""
    lines += [f"From: {sender}", f"Date: {data.get('Date', '')}"]
    for name, key in (("To", "ToFull"), ("Cc", "CcFull")):
        people = [p.get("Email", "") for p in data.get(key) or [] if isinstance(p, dict)]
        if people:
            lines.append(f"{name}: {', '.join(people)}")
    return _from_headers("\r\n".join(lines), datetime.now(UTC))


def read_sendgrid(fields: dict[str, str], files: dict[str, bytes], received_at: datetime) -> ParsedMail:
    if "email" in fields:
        return read_mime(fields["email"].encode("utf-8", "replace"), datetime.now(UTC))
    if "headers" not in fields:
        raise MalformedMailError("neither headers nor email: not SendGrid's Inbound Parse")
    return _from_headers(fields["headers"], datetime.now(UTC))


def read_mailgun(fields: dict[str, str], files: dict[str, bytes], received_at: datetime) -> ParsedMail:
    import json

    if "body-mime" in fields:
        return read_mime(fields["body-mime"].encode("utf-8", "replace"), datetime.now(UTC))
    try:
        headers = json.loads(fields["message-headers"])
    except (KeyError, ValueError):
        raise MalformedMailError("no message-headers: not a Mailgun route's post") from None
    return _from_headers("\r\n".join(f"{n}: {v}" for n, v in headers), datetime.now(UTC))


def mailgun_signature_ok(signing_key: str, timestamp: str, token: str, signature: str, now: datetime) -> bool:
    import hmac

    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > 15 * 60:
        return False
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def read_calendar(ics: bytes, method_hint: str | None = None) -> tuple[Meeting, ...]:
    raise MalformedMailError("calendar files are read once the calendar reader is merged")
