"""Block Kit drawn as SVG, in Slack's light look: a message (or App Home) as a person sees it.

It draws what Rapport posts: header, section (text, fields, an accessory), rich_text (sections, lists, quotes,
preformatted), context, divider and actions (buttons, menus), with mrkdwn's bold, italics, strike, code, links,
mentions, dates and quotes. Lines are broken by measuring the text with the DejaVu fonts matplotlib ships, the
first font the picture asks for; a reader's narrower fallback font only ends lines a little early, never overflows.
Within a line the runs of text are left to flow, so a font's own widths never misplace them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from matplotlib import font_manager, ft2font
from matplotlib.font_manager import FontProperties

from bot.shell.render_text import EMOJI

WIDTH = 720
PAD = 20
AVATAR = 36
LEFT = PAD + AVATAR + 12
TEXT = 15
LINE = 22
SMALL = 13
SMALL_LINE = 18
HEADER = 18
INK, MUTED, LINK, CODE, RULE = "#1d1c1d", "#616061", "#1264a3", "#c01343", "#dddddd"
FONTS = "'DejaVu Sans', Verdana, 'Segoe UI', sans-serif"
MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace"
STYLE = (f"text{{fill:{INK}}} .b{{font-weight:bold}} .i{{font-style:italic}} .s{{text-decoration:line-through}} "
         f".c{{font-family:{MONO};fill:{CODE};font-size:0.87em}} .a{{fill:{LINK}}} .m{{fill:{MUTED}}} "
         f".w{{fill:#ffffff}} .d{{fill:{CODE}}}")

Names = Callable[[str], str]


# ------------------------------------------------------------------------------------------------ measuring text


@cache
def _font(bold: bool, mono: bool) -> Any:
    family = "DejaVu Sans Mono" if mono else "DejaVu Sans"
    path = font_manager.findfont(FontProperties(family=family, weight="bold" if bold else "normal"),
                                 fallback_to_default=False)
    font = ft2font.FT2Font(path)
    font.set_size(100, 72)
    return font


_NO_HINTING = (ft2font.LoadFlags.NO_HINTING if hasattr(ft2font, "LoadFlags")
               else ft2font.LOAD_NO_HINTING)  # type: ignore[attr-defined]  # matplotlib before 3.10


@cache
def _advance(char: str, bold: bool, mono: bool) -> float:
    """A character's width in ems; one the font lacks (an emoji) counts wide."""
    font = _font(bold, mono)
    if not font.get_char_index(ord(char)):
        return 0.0 if 0xFE00 <= ord(char) <= 0xFE0F or ord(char) == 0x200D else 1.3
    return float(font.load_char(ord(char), flags=_NO_HINTING).linearHoriAdvance) / 65536 / 100


def measure(text: str, size: float, *, bold: bool = False, mono: bool = False) -> float:
    return sum(_advance(c, bold, mono) for c in text) * size * (0.87 if mono else 1.0)


# --------------------------------------------------------------------------------------------------- inline text


@dataclass(frozen=True)
class Run:
    text: str
    style: frozenset[str] = frozenset()  # b i s c a (link or mention)


def _ordinal(day: int) -> str:
    return f"{day}{'th' if 11 <= day % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def slack_date(timestamp: int, fmt: str, tz: ZoneInfo, now: datetime) -> str:
    """Slack's date tokens as Slack renders them for a reader in `tz` on `now`'s day (24-hour clock)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC).astimezone(tz)
    days = (moment.date() - now.astimezone(tz).date()).days
    relative = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(days)
    short = f"{moment:%b} {moment.day}, {moment.year}"
    plain = f"{moment:%B} {_ordinal(moment.day)}, {moment.year}"
    long = f"{moment:%A}, {plain}"
    tokens = {"date_num": f"{moment:%Y-%m-%d}", "date": plain, "date_short": short, "date_long": long,
              "date_pretty": relative or plain, "date_short_pretty": relative or short,
              "date_long_pretty": relative or long, "time": f"{moment:%H:%M}", "time_secs": f"{moment:%H:%M:%S}"}
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), fmt)


class Inline:
    """Turns Slack's text (mrkdwn, plain_text, rich_text elements) into styled runs."""

    SPECIAL = re.compile(r"<([^<>]+)>|:([a-z0-9_+\-]+):")
    MARKS = (("*", "b"), ("_", "i"), ("~", "s"))

    def __init__(self, name_of: Names, tz: ZoneInfo, now: datetime) -> None:
        self.name_of, self.tz, self.now = name_of, tz, now

    def emoji(self, name: str) -> str:
        return EMOJI.get(name, f":{name}:")

    def _special(self, token: str) -> Run:
        if token.startswith("@"):
            return Run("@" + self.name_of(token[1:].split("|")[0]), frozenset("a"))
        if token.startswith("#"):
            channel, _, label = token[1:].partition("|")
            return Run("#" + (label or self.name_of(channel)), frozenset("a"))
        if token.startswith("!date^"):
            spec, _, fallback = token.partition("|")
            parts = spec.split("^")
            try:
                return Run(slack_date(int(parts[1]), parts[2], self.tz, self.now))
            except (IndexError, ValueError):
                return Run(fallback)
        if token.startswith("!"):
            return Run("@" + token[1:].split("|")[0], frozenset("a"))
        url, _, label = token.partition("|")
        return Run(label or url, frozenset("a"))

    def mrkdwn(self, text: str, style: frozenset[str] = frozenset()) -> list[Run]:
        runs: list[Run] = []
        code = re.split(r"(`[^`\n]+`)", text)
        for piece in code:
            if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
                runs.append(Run(self._entities(piece[1:-1]), style | {"c"}))
            else:
                runs += self._marked(piece, style)
        return runs

    def _marked(self, text: str, style: frozenset[str]) -> list[Run]:
        for mark, name in self.MARKS:
            pattern = re.compile(rf"(?<![\w{re.escape(mark)}]){re.escape(mark)}(?=\S)(.+?)(?<=\S){re.escape(mark)}"
                                 rf"(?![\w{re.escape(mark)}])", re.DOTALL)
            found = pattern.search(text)
            if found:
                return (self._marked(text[:found.start()], style) + self._marked(found.group(1), style | {name})
                        + self._marked(text[found.end():], style))
        runs: list[Run] = []
        position = 0
        for found in self.SPECIAL.finditer(text):
            if found.start() > position:
                runs.append(Run(self._entities(text[position:found.start()]), style))
            if found.group(1) is not None:
                special = self._special(found.group(1))
                runs.append(Run(special.text, style | special.style))
            else:
                runs.append(Run(self.emoji(found.group(2)), style))
            position = found.end()
        if position < len(text):
            runs.append(Run(self._entities(text[position:]), style))
        return runs

    @staticmethod
    def _entities(text: str) -> str:
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def text_object(self, obj: Mapping[str, Any]) -> list[Run]:
        text = str(obj.get("text", ""))
        if obj.get("type") == "mrkdwn":
            return self.mrkdwn(text)
        return [Run(re.sub(r":([a-z0-9_+\-]+):", lambda m: self.emoji(m.group(1)), text))]

    def rich(self, elements: Sequence[Mapping[str, Any]]) -> list[Run]:
        runs = []
        for element in elements:
            kind = element.get("type")
            given = element.get("style") or {}
            style = frozenset(k for k, on in (("b", given.get("bold")), ("i", given.get("italic")),
                                              ("s", given.get("strike")), ("c", given.get("code"))) if on)
            if kind == "text":
                runs.append(Run(str(element.get("text", "")), style))
            elif kind == "user":
                runs.append(Run("@" + self.name_of(str(element.get("user_id"))), style | {"a"}))
            elif kind == "channel":
                runs.append(Run("#" + self.name_of(str(element.get("channel_id"))), style | {"a"}))
            elif kind == "date":
                runs.append(Run(slack_date(int(element["timestamp"]), str(element.get("format", "{date_short}")),
                                           self.tz, self.now), style))
            elif kind == "emoji":
                runs.append(Run(self.emoji(str(element.get("name"))), style))
            elif kind == "link":
                runs.append(Run(str(element.get("text") or element.get("url")), style | {"a"}))
            elif kind == "broadcast":
                runs.append(Run("@" + str(element.get("range")), style | {"a"}))
        return runs


# -------------------------------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Font:
    size: float
    line: float
    muted: bool = False


BODY = Font(TEXT, LINE)
CONTEXT = Font(SMALL, SMALL_LINE, muted=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Canvas:
    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self.parts: list[str] = []
        self.y = float(PAD)

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str = "none", stroke: str = "none",
             radius: float = 0) -> None:
        self.parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="{_n(radius)}" '
                          f'fill="{fill}" stroke="{stroke}"/>')

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = RULE) -> None:
        self.parts.append(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{color}"/>')

    def text(self, x: float, baseline: float, runs: Sequence[Run], font: Font, *, anchor: str = "start",
             extra: str = "") -> None:
        spans = "".join(_span(run) for run in runs if run.text)
        classes = " ".join(c for c in ("m" if font.muted else "", extra) if c)
        attributes = f' class="{classes}"' if classes else ""
        size = "" if font.size == TEXT else f' font-size="{_n(font.size)}"'
        anchored = "" if anchor == "start" else f' text-anchor="{anchor}"'
        self.parts.append(f'<text x="{_n(x)}" y="{_n(baseline)}"{size}{anchored}{attributes} '
                          f'xml:space="preserve">{spans}</text>')

    def flow(self, runs: Sequence[Run], x: float, width: float, font: Font) -> None:
        """Runs broken into lines that fit `width`, drawn from the current y, which moves below them."""
        for line in _lines(runs, width, font.size):
            self.y += font.line
            self.text(x, self.y - font.line * 0.3, line, font)

    def svg(self, height: float) -> str:
        body = "\n".join(self.parts)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{_n(height)}" '
                f'viewBox="0 0 {self.width} {_n(height)}" font-family="{FONTS}" font-size="{TEXT}">\n'
                f"<style>{STYLE}</style>\n"
                f'<rect x="0.5" y="0.5" width="{self.width - 1}" height="{_n(height - 1)}" rx="8" fill="#ffffff" '
                f'stroke="{RULE}"/>\n{body}\n</svg>\n')


def _span(run: Run) -> str:
    classes = " ".join(sorted(run.style))
    text = escape(run.text)
    return f'<tspan class="{classes}">{text}</tspan>' if classes else text


def _words(run: Run) -> list[Run]:
    return [Run(piece, run.style) for piece in re.findall(r"\S+\s*|\s+", run.text)]


def _width(run: Run, size: float) -> float:
    return measure(run.text, size, bold="b" in run.style, mono="c" in run.style)


def _lines(runs: Sequence[Run], width: float, size: float) -> list[list[Run]]:
    """Greedy line breaking at spaces (a word longer than a line is cut); a newline always breaks."""
    lines: list[list[Run]] = [[]]
    used = 0.0
    for run in runs:
        for number, part in enumerate(run.text.split("\n")):
            if number:
                lines.append([])
                used = 0.0
            for word in _words(Run(part, run.style)):
                needed = _width(Run(word.text.rstrip(), word.style), size)
                if used and used + needed > width:
                    lines.append([])
                    used = 0.0
                    word = Run(word.text.lstrip(), word.style)
                while _width(word, size) > width and len(word.text) > 1:  # a word wider than the line
                    cut = len(word.text) - 1
                    while cut > 1 and _width(Run(word.text[:cut], word.style), size) > width - used:
                        cut -= 1
                    lines[-1].append(Run(word.text[:cut], word.style))
                    lines.append([])
                    used = 0.0
                    word = Run(word.text[cut:], word.style)
                lines[-1].append(word)
                used += _width(word, size)
    return [_merged(line) for line in lines]


def _merged(line: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in line:
        if merged and merged[-1].style == run.style:
            merged[-1] = Run(merged[-1].text + run.text, run.style)
        else:
            merged.append(run)
    if merged:
        merged[-1] = Run(merged[-1].text.rstrip(" "), merged[-1].style)
    return merged


# ---------------------------------------------------------------------------------------------------------- blocks


class Drawing:
    """Draws one message's or view's blocks onto a canvas, at LEFT, within the content width."""

    def __init__(self, canvas: Canvas, inline: Inline, left: float = LEFT) -> None:
        self.canvas, self.inline, self.left = canvas, inline, left
        self.width = canvas.width - left - PAD

    def blocks(self, blocks: Sequence[Mapping[str, Any]]) -> None:
        for block in blocks:
            kind = block.get("type")
            draw = getattr(self, f"_{kind}", None)
            if draw is not None:
                draw(block)

    def mrkdwn_text(self, text: str, x: float, width: float, font: Font = BODY) -> None:
        """mrkdwn, with its `>` lines drawn as quotes."""
        lines = text.split("\n")
        index = 0
        while index < len(lines):
            quoted = lines[index].startswith(("&gt;", ">"))
            group = []
            while index < len(lines) and lines[index].startswith(("&gt;", ">")) == quoted:
                group.append(re.sub(r"^(&gt;|>) ?", "", lines[index]) if quoted else lines[index])
                index += 1
            if quoted:
                self._quoted(self.inline.mrkdwn("\n".join(group)), x, width, font)
            else:
                self.canvas.flow(self.inline.mrkdwn("\n".join(group)), x, width, font)

    def _quoted(self, runs: list[Run], x: float, width: float, font: Font = BODY) -> None:
        top = self.canvas.y
        self.canvas.flow(runs, x + 14, width - 14, font)
        self.canvas.rect(x, top + 3, 4, self.canvas.y - top - 3, fill=RULE, radius=2)

    def _header(self, block: Mapping[str, Any]) -> None:
        self.canvas.y += 4
        runs = [Run(r.text, r.style | {"b"}) for r in self.inline.text_object(block["text"])]
        self.canvas.flow(runs, self.left, self.width, Font(HEADER, 26))
        self.canvas.y += 4

    def _section(self, block: Mapping[str, Any]) -> None:
        top = self.canvas.y
        accessory = block.get("accessory")
        width = self.width - (self._control_width(accessory) + 16 if accessory else 0)
        if block.get("text"):
            text = block["text"]
            if text.get("type") == "mrkdwn":
                self.mrkdwn_text(str(text.get("text", "")), self.left, width)
            else:
                self.canvas.flow(self.inline.text_object(text), self.left, width, BODY)
        fields = block.get("fields") or []
        column = (width - 16) / 2
        for start in range(0, len(fields), 2):
            row_top, bottom = self.canvas.y, self.canvas.y
            for offset, field in enumerate(fields[start:start + 2]):
                self.canvas.y = row_top
                self.canvas.flow(self.inline.text_object(field), self.left + offset * (column + 16), column, BODY)
                bottom = max(bottom, self.canvas.y)
            self.canvas.y = bottom
        if accessory:
            self._control(accessory, self.left + self.width - self._control_width(accessory), top + 4)
            self.canvas.y = max(self.canvas.y, top + 40)
        self.canvas.y += 6

    def _rich_text(self, block: Mapping[str, Any]) -> None:
        for part in block.get("elements", []):
            kind = part.get("type")
            if kind == "rich_text_section":
                self.canvas.flow(self.inline.rich(part.get("elements", [])), self.left, self.width, BODY)
            elif kind == "rich_text_list":
                indent = 22 * (int(part.get("indent", 0)) + 1)
                for number, item in enumerate(part.get("elements", []), start=1):
                    mark = f"{number}." if part.get("style") == "ordered" else "•"
                    top = self.canvas.y
                    self.canvas.flow(self.inline.rich(item.get("elements", [])), self.left + indent,
                                     self.width - indent, BODY)
                    self.canvas.text(self.left + indent - 14, top + LINE * 0.7, [Run(mark)], BODY)
            elif kind == "rich_text_quote":
                self._quoted(self.inline.rich(part.get("elements", [])), self.left, self.width)
            elif kind == "rich_text_preformatted":
                top, under = self.canvas.y + 4, len(self.canvas.parts)
                self.canvas.y += 8
                runs = [Run(r.text, r.style | {"c"}) for r in self.inline.rich(part.get("elements", []))]
                self.canvas.flow(runs, self.left + 10, self.width - 20, BODY)
                self.canvas.y += 6
                self.canvas.rect(self.left, top, self.width, self.canvas.y - top, fill="#f8f8f8", stroke="#e2e2e2",
                                 radius=4)
                self.canvas.parts.insert(under, self.canvas.parts.pop())  # the box goes under its text
        self.canvas.y += 6

    def _context(self, block: Mapping[str, Any]) -> None:
        runs: list[Run] = []
        for element in block.get("elements", []):
            if element.get("type") in ("mrkdwn", "plain_text"):
                if runs:
                    runs.append(Run("  "))
                runs += self.inline.text_object(element)
        self.canvas.flow(runs, self.left, self.width, CONTEXT)
        self.canvas.y += 6

    def _divider(self, _block: Mapping[str, Any]) -> None:
        self.canvas.y += 8
        self.canvas.line(self.left, self.canvas.y, self.left + self.width, self.canvas.y)
        self.canvas.y += 10

    def _actions(self, block: Mapping[str, Any]) -> None:
        x, top = self.left, self.canvas.y + 4
        for element in block.get("elements", []):
            width = self._control_width(element)
            if x > self.left and x + width > self.left + self.width:
                x, top = self.left, top + 36
            self._control(element, x, top)
            x += width + 8
        self.canvas.y = top + 28 + 10

    def _label(self, element: Mapping[str, Any]) -> str:
        kind = element.get("type")
        if kind == "button":
            return str(element["text"]["text"])
        if kind == "overflow":
            return "⋯"
        chosen = element.get("initial_option") or {}
        shown = (chosen.get("text") or element.get("placeholder") or {}).get("text") or element.get("initial_date")
        return f"{shown or 'Choose'}  ▾"

    def _control_width(self, element: Mapping[str, Any]) -> float:
        return measure(self._label(element), SMALL + 1, bold=True) + 26

    def _control(self, element: Mapping[str, Any], x: float, top: float) -> None:
        style = element.get("style")
        width = self._control_width(element)
        fill, stroke, classes = "#ffffff", "#bbbbbb", "b"
        if style == "primary":
            fill, stroke, classes = "#007a5a", "#007a5a", "b w"
        elif style == "danger":
            classes = "b d"
        self.canvas.rect(x, top, width, 28, fill=fill, stroke=stroke, radius=4)
        self.canvas.text(x + width / 2, top + 19, [Run(self._label(element))], Font(SMALL + 1, 20), anchor="middle",
                         extra=classes)


# ---------------------------------------------------------------------------------------------------------- frames


def _top_bar(canvas: Canvas, title: str) -> None:
    canvas.rect(1, 1, canvas.width - 2, 44, fill="#f8f8f8", radius=7)
    canvas.line(1, 45, canvas.width - 1, 45)
    canvas.text(PAD, 29, [Run(title, frozenset("b"))], BODY)
    canvas.y = 45 + PAD - 6


def message(payload: Mapping[str, Any], *, where: str, name_of: Names, tz: ZoneInfo, now: datetime,
            only_you: bool = False) -> str:
    """A message as Slack shows it in a channel or DM: the app's name and avatar, the time, its blocks."""
    canvas = Canvas()
    _top_bar(canvas, where)
    inline = Inline(name_of, tz, now)
    top = canvas.y
    canvas.rect(PAD, top + 4, AVATAR, AVATAR, fill="#4a154b", radius=6)
    canvas.text(PAD + AVATAR / 2, top + 29, [Run("R", frozenset("b"))], Font(18, 24), anchor="middle", extra="w")
    canvas.y += LINE
    canvas.text(LEFT, canvas.y - 4, [Run("Rapport", frozenset("b"))], BODY)
    x = LEFT + measure("Rapport", TEXT, bold=True) + 8
    canvas.rect(x, canvas.y - 18, measure("APP", 10, bold=True) + 8, 15, fill="#e8e8e8", radius=3)
    canvas.text(x + 4, canvas.y - 7, [Run("APP", frozenset("b"))], Font(10, 14, muted=True))
    canvas.text(x + measure("APP", 10, bold=True) + 16, canvas.y - 4, [Run(f"{now.astimezone(tz):%H:%M}")], CONTEXT)
    if only_you:
        canvas.text(x + measure("APP", 10, bold=True) + 62, canvas.y - 4, [Run("Only visible to you")], CONTEXT)
    canvas.y += 2
    blocks = payload.get("blocks") or [{"type": "section", "text": {"type": "mrkdwn", "text": payload.get("text")}}]
    Drawing(canvas, inline).blocks(blocks)
    return canvas.svg(canvas.y + PAD)


def home(view: Mapping[str, Any], *, name_of: Names, tz: ZoneInfo, now: datetime) -> str:
    """App Home's tab: the view's blocks under the app's name and its Home tab."""
    canvas = Canvas()
    _top_bar(canvas, "Rapport  ·  Home")
    Drawing(canvas, Inline(name_of, tz, now), left=PAD).blocks(view.get("blocks") or [])
    return canvas.svg(canvas.y + PAD)
