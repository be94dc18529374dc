"""Helpers for tests of capture from email: messages as a mail client writes them, and posting them to serve."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from tests.conftest import RapportServer, Response


def message(sender: str, to: list[str], at: datetime, *, cc: list[str] | None = None, subject: str = "Renewal",
            body: str = "Shall we talk about next year?", message_id: str | None = None,
            headers: dict[str, str] | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    if cc:
        mail["Cc"] = ", ".join(cc)
    mail["Subject"] = subject
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example.net>"
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    return mail


def invitation(sender: str, to: list[str], at: datetime, *, uid: str, method: str = "REQUEST",
               start: datetime | None = None, sequence: int = 0, summary: str = "Quarterly review",
               message_id: str | None = None) -> EmailMessage:
    """An iTIP message as a calendar sends it: a text/calendar part (METHOD REQUEST or CANCEL) beside a text one.
    A CANCEL without `start` carries no DTSTART, as libical's example."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Rapport tests//EN", f"METHOD:{method}", "BEGIN:VEVENT",
             f"UID:{uid}", f"SEQUENCE:{sequence}", f"DTSTAMP:{at.astimezone(UTC):%Y%m%dT%H%M%SZ}",
             f"ORGANIZER:mailto:{sender}", *(f"ATTENDEE:mailto:{a}" for a in to), f"SUMMARY:{summary}"]
    if start is not None:
        lines += [f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                  f"DTEND:{(start + timedelta(hours=1)).astimezone(UTC):%Y%m%dT%H%M%SZ}"]
    if method == "CANCEL":
        lines.append("STATUS:CANCELLED")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    mail = message(sender, to, at, subject=f"Invitation: {summary}", body=summary, message_id=message_id)
    mail.add_alternative("\r\n".join(lines), subtype="calendar", params={"method": method})
    return mail


def forwarded(by: str, to: str, at: datetime, original: EmailMessage) -> EmailMessage:
    """`by` forwards `original` as an attachment (message/rfc822), as Gmail's and Outlook's "forward as attachment"."""
    mail = message(by, [to], at, subject=f"Fwd: {original['Subject']}", body="FYI")
    mail.add_attachment(original)
    return mail


def post_mail(server: RapportServer, provider: str, key: str, body: bytes,
              content_type: str = "message/rfc822", headers: dict[str, str] | None = None) -> Response:
    request = urllib.request.Request(f"{server.base}/mail/{provider}/{key}", data=body, method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return Response(reply.status, reply.read().decode())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read().decode())


def key_of(server: RapportServer, team: str | None = None) -> str:
    """The workspace's inbound key, as /client mail shows it."""
    shown = server.command("mail", team=team).text
    found = re.search(r"/mail/mime/([a-z0-9]+)", shown)
    assert found, shown
    return found.group(1)


def outcome(reply: Response) -> str:
    assert reply.status == 200, reply.body
    return str(json.loads(reply.body)["outcome"])
