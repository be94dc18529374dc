"""The mail fixtures (tests/fixtures/mail, sources in its SOURCES.md) and how a caller hands them over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
RECEIVED = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fields(name: str) -> dict[str, str]:
    loaded = json.loads(fixture(name))
    assert isinstance(loaded, dict)
    return {str(key): str(value) for key, value in loaded.items()}


def form(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """A multipart/form-data body split the way the webhook hands it over: text fields decoded as UTF-8 with
    surrogateescape (raw bytes of other charsets survive), files as bytes."""
    head = f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
    message = BytesParser(policy=policy.default).parsebytes(head + body)
    texts: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        if part.get_filename():
            files[name] = data
        else:
            texts[name] = data.decode("utf-8", "surrogateescape")
    return texts, files
