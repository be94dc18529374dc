"""Slack's escaped command text in, plain text out; and the few Slack tokens Rapport writes itself."""

from __future__ import annotations

import re
from typing import Any

USER_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
CHANNEL_RE = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_ANY_TOKEN = re.compile(r"<([^<>]*)>")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_plain(text: str) -> str:
    """Turn Slack markup into the words a person meant, so stored text can never ping or link when echoed.

    `<@U1|ana>` -> '@ana', `<#C1|general>` -> '#general', `<!channel>` -> '@channel',
    `<http://x|click>` -> 'click (http://x)'. Then entities are unescaped.
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return label if label.startswith("@") else "@" + (label or special)
        return f"{label} ({target})" if label and label != target else target

    return unescape(CONTROL.sub("", _ANY_TOKEN.sub(replace, text)))


def escape_mrkdwn(text: str) -> str:
    """For the notification fallback, the one place user text meets mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_id(token: str) -> str | None:
    match = USER_RE.fullmatch(token.strip())
    return match.group(1) if match else None


def channel_id(token: str) -> str | None:
    match = CHANNEL_RE.fullmatch(token.strip())
    return match.group(1) if match else None


def payload_text(value: Any, limit: int = 64) -> str | None:
    """A string field of a Slack payload as given, or None: missing, not a string, empty, or longer than an id
    (or `limit`) could be — what every reader of an untrusted payload checks before using a value."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None
