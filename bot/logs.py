"""Logging for every `rapport` process: one format, one level (RAPPORT_LOG_LEVEL), and nothing secret in it.

Whatever logs it — Rapport, Bolt, slack_sdk, gunicorn — and at whatever level, DEBUG included, a record is
cleaned when it is made: Slack tokens are masked, OAuth codes and states are masked, and the text of Slack
messages is dropped. slack_sdk's DEBUG lines carry whole request and response bodies (a posted nudge, a channel's
history), so those keep only their URL or status.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "[redacted]"

# Bot, user, app-level, refresh and rotating tokens: xoxb-…, xoxp-…, xoxe.xoxb-…, xoxe-…, xapp-…
_TOKEN = re.compile(r"(xox[a-zA-Z]?|xapp)[-.][\w.-]*")
# In a URL's query: ?code=…&state=…
_QUERY_SECRET = re.compile(r"([?&;](?:code|state|token|client_secret|refresh_token)=)[^&;\s'\"]*")
# A quoted value (or a list of one) under a secret or message-text key, in JSON or a Python dict's repr:
# 'text': '…', "code": "…", 'state': ['…']
_KEYED = re.compile(r"""(['"](?:code|state|client_secret|token|access_token|refresh_token|text|fallback|pretext)"""
                    r"""['"]\s*:\s*\[?\s*)(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""")
# slack_sdk's DEBUG lines with a request's parameters or a response's body: only what comes before them is kept
_SDK_REQUEST = re.compile(r"(Sending a request - url: [^?,\s]*)[\s\S]*")
_SDK_RESPONSE = re.compile(r"(Received the following response - status: \d+)[\s\S]*")
# Bolt's lines that end in a request, its body or a response's body ("Responding with status: 200 body: …",
# "Skipped self event: {…}", "Handling an OAuth callback success (request: {'code': …})", "Invalid request
# signature detected (… body: …)"), and Socket Mode's "(session id: …, message: {…})" and "payload: …"; and
# Bolt's "… with code: …"
_BODY = re.compile(r"\b(body|event|request|message|payload)\b\s*[:=(][\s\S]*", re.IGNORECASE)
_NAMED_SECRET = re.compile(r"(\b(?:code|state)\s*[:=]\s*)[^\s,&'\")}\]]+")
# A workspace's inbound mail key in a webhook's path (an access log line): whoever has it can post mail as theirs
_MAIL_KEY = re.compile(r"(/mail/[A-Za-z]{0,16}/)[^\s/?\"']+")
# Rapport's own modules: their messages are written here, and say nothing of the above (PRODUCT.md §7).
# Anything else (Bolt, whatever logger Rapport hands it; slack_sdk; gunicorn) is cleaned as third-party text.
OWN = ("bot.", "handlers.", "storage.")


def redact(text: str, logger: str = "") -> str:
    """`text`, logged by `logger`, as it may be written."""
    if not logger.startswith(OWN):
        text = _SDK_RESPONSE.sub(r"\1 (body not logged)", _SDK_REQUEST.sub(r"\1 (parameters not logged)", text))
        text = _BODY.sub(r"\1 not logged", text)
    # slack_sdk's state store logs through the logger Rapport gives it: "… persistent data for state: …"
    text = _NAMED_SECRET.sub(r"\1" + MASK, text)
    text = _TOKEN.sub(r"\1-" + MASK, text)
    text = _QUERY_SECRET.sub(r"\1" + MASK, text)
    text = _MAIL_KEY.sub(r"\1" + MASK, text)
    return _KEYED.sub(r"\1'" + MASK + "'", text)


_formatter = logging.Formatter()


def _cleaning(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        try:
            message = made.getMessage()
        except Exception:  # a call with arguments that do not fit its message: logging reports it as usual
            return made
        made.msg, made.args = redact(message, made.name), ()
        if made.exc_info and not made.exc_text:
            made.exc_text = redact(_formatter.formatException(made.exc_info), made.name)
        if made.stack_info:
            made.stack_info = redact(made.stack_info, made.name)
        return made

    record.rapport_cleaning = True  # type: ignore[attr-defined]
    return record


def parse_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LEVELS:
        raise ValueError(f"use one of {', '.join(LEVELS)}")
    return level


def configure(level: str) -> None:
    """Every record this process makes is cleaned (see above), whichever handler writes it."""
    if not getattr(logging.getLogRecordFactory(), "rapport_cleaning", False):
        logging.setLogRecordFactory(_cleaning(logging.getLogRecordFactory()))
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger().setLevel(level)
    if level != "DEBUG":
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up chatter, not news
