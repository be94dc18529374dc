"""Block Kit as plain text, for the offline shell: what a person would read in Slack."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

EMOJI = {
    "warning": "⚠️", "white_check_mark": "✅", "memo": "📝", "pray": "🙏", "zzz": "💤", "tada": "🎉",
    "wastebasket": "🗑️", "bell": "🔔", "wave": "👋", "seedling": "🌱", "calendar": "📅", "telephone_receiver": "📞",
    "bust_in_silhouette": "👤", "raised_hand": "✋",
    "handshake": "🤝", "dart": "🎯", "clipboard": "📋", "speech_balloon": "💬", "hammer_and_wrench": "🛠️", "link": "🔗",
    "information_source": "ℹ️", "checkered_flag": "🏁", "bar_chart": "📊", "alarm_clock": "⏰",
    "white_large_square": "⬜", "inbox_tray": "📥",
}

Names = Callable[[str], str]


def _mrkdwn(value: str, name_of: Names) -> str:
    value = re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", value)
    value = re.sub(r"<!(channel|here|everyone)>", r"@\1", value)
    value = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), value)
    value = re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + name_of(m.group(1)), value)
    value = re.sub(r"<#([A-Z0-9]+)(?:\|([^>]*))?>", lambda m: "#" + (m.group(2) or name_of(m.group(1))), value)
    value = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2 (\1)", value)
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _date(element: Mapping[str, Any], tz: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(int(element["timestamp"]), tz=UTC).astimezone(tz)
    fmt = str(element.get("format", "{date_short_pretty}"))
    fmt = fmt.replace("{date_short_pretty}", moment.strftime("%a %d %b %Y")).replace("{time}", moment.strftime("%H:%M"))
    return re.sub(r"\{[a-z_]+\}", moment.strftime("%Y-%m-%d"), fmt)


def _inline(elements: list[Mapping[str, Any]], name_of: Names, tz: ZoneInfo) -> str:
    out = []
    for element in elements:
        kind = element.get("type")
        if kind == "text":
            out.append(str(element.get("text", "")))
        elif kind == "user":
            out.append("@" + name_of(str(element.get("user_id"))))
        elif kind == "channel":
            out.append("#" + name_of(str(element.get("channel_id"))))
        elif kind == "date":
            out.append(_date(element, tz))
        elif kind == "emoji":
            out.append(EMOJI.get(str(element.get("name")), f":{element.get('name')}:"))
        elif kind == "link":
            out.append(str(element.get("text") or element.get("url")))
    return "".join(out)


def _rich(block: Mapping[str, Any], name_of: Names, tz: ZoneInfo) -> list[str]:
    lines: list[str] = []
    for part in block.get("elements", []):
        kind = part.get("type")
        if kind == "rich_text_section":
            lines.extend(_inline(part.get("elements", []), name_of, tz).split("\n"))
        elif kind == "rich_text_list":
            for item in part.get("elements", []):
                lines.append("  • " + _inline(item.get("elements", []), name_of, tz))
        elif kind == "rich_text_quote":
            lines.extend("  > " + s for s in _inline(part.get("elements", []), name_of, tz).split("\n"))
        elif kind == "rich_text_preformatted":
            lines.extend("    " + s for s in _inline(part.get("elements", []), name_of, tz).split("\n"))
    return lines


def render(message: Mapping[str, Any], tz: ZoneInfo, name_of: Names = lambda i: i) -> tuple[str, list[dict[str, Any]]]:
    """The message as text, and its buttons in the order shown (the shell's `click N` uses them)."""
    lines: list[str] = []
    buttons: list[dict[str, Any]] = []
    blocks = message.get("blocks") or []
    if not blocks:
        return _mrkdwn(str(message.get("text", "")), name_of), buttons
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * min(len(title), 60)]
        elif kind == "section":
            if block.get("text"):
                lines.extend(_mrkdwn(block["text"]["text"], name_of).split("\n"))
            for field in block.get("fields", []):
                lines.append(_mrkdwn(field["text"], name_of))
        elif kind == "rich_text":
            lines.extend(_rich(block, name_of, tz))
        elif kind == "context":
            lines.append("  " + " ".join(_mrkdwn(e.get("text", ""), name_of) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "actions":
            labels = []
            for element in block.get("elements", []):
                if element.get("type") == "button":
                    buttons.append(dict(element, block_id=block.get("block_id", "")))
                    labels.append(f"[{element['text']['text']}]")
                elif "placeholder" in element:  # menus are shown, but only buttons can be clicked here
                    labels.append(f"[{element['placeholder']['text']} ▾]")
            hint = "" if not buttons else f"   (click 1-{len(buttons)})" if len(buttons) > 1 else "   (click 1)"
            lines.append("  ".join(labels) + (hint if any(e.get("type") == "button"
                                                          for e in block.get("elements", [])) else ""))
    return "\n".join(lines), buttons
