"""The original of a message forwarded inline, read from the header block its mail client wrote.

Gmail writes "---------- Forwarded message ---------" then From/Date/Subject/To/Cc; Apple Mail "Begin forwarded
message:" then From/Subject/Date/To/Cc (often quoted with "> "); Outlook no marker at all, only a
"From: … Sent: … To: … Cc: … Subject: …" block (addresses as `Name [mailto:a@b]` or `Name <a@b>`), and it
writes the same block above every quoted reply. So a block counts when a forward marker stands above it or
the forwarding message's subject says it forwards; from there, the next block is taken while the current
one is itself a forward (its subject says so, or a marker stands above the next): a message forwarded twice
yields the innermost original, a forwarded thread its newest message. Labels are read in the languages Gmail,
Apple Mail and Outlook ship most (en, de, fr, es, it, nl, pt).

No maintained Python library does this for Python 3.11 (email-forward-parser, the port of Crisp's library,
requires Python 3.14), hence these few rules. Only addresses and the date leave this module.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from dateutil import parser as dateparser

from bot.capture.mail.addresses import addresses_in_text
from bot.capture.mail.headers import parse_date_in_its_zone, plausible, says_forwarded
from bot.capture.mail.identity import identity_of
from bot.capture.mail.parsed import ParsedMail

MAX_TEXT = 1024 * 1024  # a forward's header block is near the top; a megabyte of text is plenty
MAX_LINE = 20_000

_MARKER = re.compile(
    r"^[-_=\s]*(?:forwarded message|original message|begin forwarded message|weitergeleitete nachricht"
    r"|anfang der weitergeleiteten nachricht|urspr(?:ü|ue)ngliche nachricht|message transf[ée]r[ée]"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]|message d'origine|mensaje reenviado|inicio del mensaje reenviado"
    r"|mensaje original|messaggio inoltrato|inizio messaggio inoltrato|messaggio originale"
    r"|doorgestuurd bericht|begin doorgestuurd bericht|oorspronkelijk bericht|mensagem encaminhada"
    r"|in[íi]cio da mensagem reencaminhada|mensagem original)[-_=\s:]*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^_{10,}$")  # Outlook on the web draws a line above the block
_LABEL = re.compile(r"^[ \t*]*([^\W\d_]+(?: [^\W\d_]+)?)[ \t*]*:[ \t*]*(.*)$")  # "*From:* Jane" too
_FIELDS = {
    "from": "from",
    "von": "from",
    "de": "from",
    "da": "from",
    "van": "from",
    "date": "date",
    "sent": "date",
    "datum": "date",
    "gesendet": "date",
    "envoyé": "date",
    "envoye": "date",
    "enviado": "date",
    "enviada": "date",
    "fecha": "date",
    "inviato": "date",
    "data": "date",
    "verzonden": "date",
    "verstuurd": "date",
    "to": "to",
    "an": "to",
    "à": "to",
    "a": "to",
    "para": "to",
    "aan": "to",
    "per": "to",
    "cc": "cc",
    "kopie": "cc",
    "copie": "cc",
    "cc.": "cc",
    "subject": "subject",
    "betreff": "subject",
    "objet": "subject",
    "asunto": "subject",
    "oggetto": "subject",
    "onderwerp": "subject",
    "assunto": "subject",
}
# Every pattern here runs on text from the network: no two repeats may overlap, so each stays linear.
_TAGS = re.compile(r"<[^<>]*>")
_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d|hr)\b[^<>]*>", re.IGNORECASE)
_INVISIBLE = ("style", "script", "head")
_ZONE_WORD = re.compile(r"\s+\(?[A-Z]{2,5}\)?$")


@dataclass
class _Block:
    explicit: bool
    fields: dict[str, str] = field(default_factory=dict)


def forwarded_in(texts: list[str], *, says_it_forwards: bool, at: datetime, received_at: datetime) -> ParsedMail | None:
    """The original of an inline forward found in a message's text parts, or None.

    `says_it_forwards`: the forwarding message's subject carries a forward prefix. `at`: when it was sent, at
    the offset it was written with; a block's date without a zone is read at that offset (the forwarder's
    client writes the original's date in the forwarder's zone), and a block without a readable date takes it.
    """
    for text in texts:
        blocks = _blocks(text[:MAX_TEXT])
        if not blocks or not (blocks[0].explicit or says_it_forwards):
            continue
        index = 0
        while index + 1 < len(blocks) and (
            says_forwarded(blocks[index].fields.get("subject")) or blocks[index + 1].explicit
        ):
            index += 1
        original = _original(blocks[index].fields, at, received_at)
        if original is not None:
            return original
    return None


def text_of_html(markup: str) -> str:
    """Just enough of an HTML part's text to find a header block in it."""
    markup = _visible(markup[: 2 * MAX_TEXT])
    return html.unescape(_TAGS.sub("", _BREAKS.sub("\n", markup)))


def _visible(markup: str) -> str:
    """The markup without its <style>, <script> and <head> elements (a stylesheet is no header block)."""
    lowered = markup.lower()
    kept: list[str] = []
    position = 0
    while True:
        starts = [(found, name) for name in _INVISIBLE if (found := lowered.find(f"<{name}", position)) >= 0]
        if not starts:
            kept.append(markup[position:])
            return " ".join(kept)
        start, name = min(starts)
        kept.append(markup[position:start])
        end = lowered.find(f"</{name}", start)
        if end < 0:
            return " ".join(kept)
        close = lowered.find(">", end)
        position = len(markup) if close < 0 else close + 1


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    marked = False
    current: _Block | None = None
    last = ""
    for raw in text.splitlines():
        line = raw.lstrip("> \t").rstrip() if len(raw) <= MAX_LINE else ""
        if current is not None:
            label = _label(line)
            if label is not None and label[0] not in current.fields:
                current.fields[label[0]] = label[1]
                last = label[0]
                continue
            if line and label is None and last in ("to", "cc") and "@" in line:
                current.fields[last] += " " + line  # a long To or Cc wrapped onto the next line
                continue
            blocks.append(current)
            current = None
        if not line:
            continue
        if _MARKER.match(line) or _SEPARATOR.match(line):
            marked = True
            continue
        label = _label(line)
        if label is not None and (marked or label[0] == "from"):
            current = _Block(explicit=marked, fields={label[0]: label[1]})
            last = label[0]
        marked = False
    if current is not None:
        blocks.append(current)
    return [block for block in blocks if "from" in block.fields and len(block.fields) >= 2]


def _label(line: str) -> tuple[str, str] | None:
    match = _LABEL.match(line)
    if match is None:
        return None
    name = _FIELDS.get(match.group(1).strip().lower())
    return None if name is None else (name, match.group(2).strip())


def _original(fields: dict[str, str], at: datetime, received_at: datetime) -> ParsedMail | None:
    senders = addresses_in_text(fields.get("from", ""))
    sender = senders[0] if senders else None
    recipients = addresses_in_text(f"{fields.get('to', '')} {fields.get('cc', '')}")
    if sender is None and not recipients:
        return None
    written = fields.get("date", "").strip()
    when = plausible(_date(written, at.tzinfo or UTC), received_at)
    return ParsedMail(
        identity=identity_of(None, sender, when or written, recipients),
        sender=sender,
        recipients=recipients,
        sent_at=when or at.astimezone(UTC),
        automated=None,
        forwarded=None,
        meetings=(),
    )


def _offset_only(_name: str | None, offset: int | None) -> int | None:
    return offset


def _date(written: str, offset: tzinfo) -> datetime | None:
    if not written or len(written) > 120:
        return None
    when = parse_date_in_its_zone(written)
    if when is None:
        try:
            # tzinfos keeps a numeric offset and drops a zone abbreviation (which dateutil would warn of)
            when = dateparser.parse(_ZONE_WORD.sub("", written), tzinfos=_offset_only)
        except Exception:  # dateutil's parser meets text from the network here; any failure is "no date"
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=offset)
    try:
        return when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
