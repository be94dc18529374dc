"""Block Kit builders: pure functions from values to JSON-ready dicts.

User text (names, notes) only ever goes into rich_text `text` elements and plain_text objects, which
Slack shows literally: no mention, link or formatting in a name or a note can take effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.slack.text import escape_mrkdwn

Block = dict[str, Any]
Element = dict[str, Any]

HEADER_MAX = 150
FALLBACK_MAX = 3000


@dataclass(frozen=True)
class Reply:
    """What a command answers: Block Kit plus the plain-text fallback Slack uses for notifications."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    ok: bool = True
    # posted messages to rewrite once the change is committed (a touch closed the cards in them):
    # (channel, ts, fallback text, blocks)
    updates: tuple[tuple[str, str, str, list[Block]], ...] = ()

    def as_message(self) -> dict[str, Any]:
        return {"response_type": "ephemeral", "text": self.text, "blocks": self.blocks}


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def text(value: str, *, bold: bool = False, italic: bool = False, code: bool = False) -> Element:
    element: Element = {"type": "text", "text": value}
    style = {k: True for k, on in (("bold", bold), ("italic", italic), ("code", code)) if on}
    if style:
        element["style"] = style
    return element


def user(user_id: str) -> Element:
    """A person, by their Slack id; Rapport itself for what no person did (a CSV import, captured mail)."""
    if not is_person(user_id):
        return text("Rapport")
    return {"type": "user", "user_id": user_id}


def is_person(user_id: str) -> bool:
    return bool(re.fullmatch(r"[UW][A-Z0-9]+", user_id))


def channel(channel_id: str) -> Element:
    return {"type": "channel", "channel_id": channel_id}


def date(moment: datetime, fmt: str = "{date_short_pretty}") -> Element:
    # Slack renders this in each reader's own timezone; the fallback is the UTC date.
    return {
        "type": "date",
        "timestamp": int(moment.timestamp()),
        "format": fmt,
        "fallback": moment.astimezone(UTC).strftime("%Y-%m-%d"),
    }


def link(url: str, label: str) -> Element:
    """A link Rapport itself made (a Slack permalink): never build one from user text."""
    return {"type": "link", "url": url, "text": label}


def emoji(name: str) -> Element:
    return {"type": "emoji", "name": name}


def line(*elements: Element | str) -> Block:
    parts = [text(e) if isinstance(e, str) else e for e in elements]
    return {"type": "rich_text_section", "elements": parts}


def rich(*sections: Block) -> Block:
    return {"type": "rich_text", "elements": list(sections)}


def bullets(items: list[Block]) -> Block:
    return {"type": "rich_text_list", "style": "bullet", "elements": items}


def paragraph(*elements: Element | str) -> Block:
    """One rich_text block holding a single line; newlines inside text elements are kept."""
    return rich(line(*elements))


def header(value: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(value, HEADER_MAX)}}


def context(value: str) -> Block:
    """Fixed wording of Rapport's own (mrkdwn allowed): never pass user text here."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": value}]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    label: str, action_id: str, value: str, *, style: str | None = None, confirm: dict[str, Any] | None = None
) -> Element:
    element: Element = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, 75)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, body: str, yes: str, no: str = "Cancel", style: str = "danger") -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": clip(title, 100)},
        "text": {"type": "plain_text", "text": clip(body, 300)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30)},
        "deny": {"type": "plain_text", "text": no},
        "style": style,
    }


def actions(*elements: Element, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def fallback(value: str) -> str:
    return clip(escape_mrkdwn(value), FALLBACK_MAX)


def reply(summary: str, *blocks: Block) -> Reply:
    return Reply(text=fallback(summary), blocks=list(blocks))


def error(message: str, usage: str | None = None) -> Reply:
    blocks = [paragraph(emoji("warning"), " ", message)]
    if usage:
        blocks.append(rich(line("Try:"), {"type": "rich_text_preformatted", "elements": [text(usage)]}))
    return Reply(text=fallback(message), blocks=blocks, ok=False)
