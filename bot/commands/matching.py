"""Finding the client a command names: quoted, the longest known name at the start, or a unique prefix."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.relationship.kinds import normalize_kind
from bot.slack.text import to_plain
from storage.models import Client
from storage.queries import (
    client_names_for_suggestions,
    clients_by_keys,
    clients_with_key_prefix,
    name_key,
)

MAX_NAME_WORDS = 20
SUGGESTION_POOL = 5000


class ClientLookupError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Match:
    client: Client
    rest: str


def split_quoted(args: str) -> tuple[str, str] | None:
    """'"Every Day Foods" every 7d' -> ('Every Day Foods', 'every 7d'); None when not quoted."""
    stripped = args.lstrip()
    for open_q, close_q in (('"', '"'), ("“", "”"), ("'", "'")):
        if stripped.startswith(open_q):
            end = stripped.find(close_q, 1)
            if end == -1:
                raise ClientLookupError(f"The quote in {args.strip()!r} is never closed")
            return stripped[1:end], stripped[end + 1 :].strip()
    return None


def split_note(args: str) -> tuple[str, str | None]:
    """Everything after the first ':' outside quotes is the note."""
    in_quote = False
    for index, char in enumerate(args):
        if char in '"“”':
            in_quote = not in_quote
        elif char == ":" and not in_quote:
            return args[:index], args[index + 1 :].strip()
    return args, None


def _similarity(probe: str, key: str) -> float:
    """How alike a typed name is to a known one, also comparing with the known name's first words."""
    head = " ".join(key.split()[: len(probe.split())])
    matcher = difflib.SequenceMatcher(None, probe, key)
    score = matcher.ratio() if matcher.real_quick_ratio() >= 0.5 else 0.0
    if head != key:
        score = max(score, difflib.SequenceMatcher(None, probe, head).ratio())
    return score


def _suggest(session: Session, workspace_id: int, words: list[str]) -> str:
    term = to_plain(" ".join(words))
    pool = client_names_for_suggestions(session, workspace_id, name_key(term)[:1], SUGGESTION_POOL)
    by_key = {name_key(n): n for n in pool}
    best: dict[str, float] = {}
    for size in range(1, min(len(words), 3) + 1):
        probe = name_key(to_plain(" ".join(words[:size])))
        for key in by_key:
            score = _similarity(probe, key)
            if score >= 0.7:
                best[key] = max(best.get(key, 0.0), score)
    ranked = sorted(best, key=lambda k: (-best[k], k))[:3]
    shown = term if len(term) <= 40 else term[:40] + "…"
    if not ranked:
        return f"No client matches {shown!r}. Add it with /client add, or see /client list all."
    names = " or ".join(by_key[k] for k in ranked)
    return f"No client matches {shown!r}. Did you mean {names}?"


def _ambiguous(prefix: str, clients: list[Client], more: bool) -> ClientLookupError:
    names = ", ".join(c.name for c in clients[:5]) + (", …" if more else "")
    return ClientLookupError(f"{prefix!r} could be more than one client: {names}. Type more of the name.")


def find_client(session: Session, workspace_id: int, args: str) -> Match:
    quoted = split_quoted(args)
    if quoted is not None:
        term, rest = quoted
        key = name_key(to_plain(term))
        exact = clients_by_keys(session, workspace_id, [key])
        if exact:
            return Match(exact[0], rest)
        found = clients_with_key_prefix(session, workspace_id, key, 6) if key else []
        if len(found) == 1:
            return Match(found[0], rest)
        if found:
            raise _ambiguous(term, found, len(found) > 5)
        raise ClientLookupError(_suggest(session, workspace_id, term.split() or [term]))

    spans = [m.span() for m in re.finditer(r"\S+", args)][:MAX_NAME_WORDS]
    if not spans:
        raise ClientLookupError("Which client? Put the client's name first.")
    prefixes = [(name_key(to_plain(args[:end])), args[end:].strip()) for _, end in spans]
    named = {c.name_key: c for c in clients_by_keys(session, workspace_id, [p for p, _ in prefixes])}
    for words, (key, rest) in reversed(list(enumerate(prefixes, start=1))):
        if key in named:
            _not_misspelt(session, workspace_id, args, spans, words, key)
            return Match(named[key], rest)
    for words, (key, rest) in reversed(list(enumerate(prefixes, start=1))):
        found = clients_with_key_prefix(session, workspace_id, key, 6)
        if len(found) == 1:
            _not_misspelt(session, workspace_id, args, spans, words, key, found)
            return Match(found[0], rest)
        if found:
            raise _ambiguous(to_plain(args[: spans[words - 1][1]]).strip(), found, len(found) > 5)
    raise ClientLookupError(_suggest(session, workspace_id, [args[a:b] for a, b in spans]))


MISSPELT = 0.7  # how alike the words typed after a match must be to the rest of a longer name
# Words that follow a client's name in some command: never read as part of a misspelt name.
COMMAND_WORDS = frozenset({"from", "to", "every", "done", "off", "none", "owner", "channel", "contact", "no-winback",
                           "today", "yesterday", "default", "confidence", "met", "missed"})


def _not_misspelt(session: Session, workspace_id: int, args: str, spans: list[tuple[int, int]], words: int, key: str,
                  found: list[Client] | None = None) -> None:
    """`Acme Crop call` is a misspelt `Acme Corp`, not `Acme` (or the prefix `Acme` of Acme Corp) followed by
    'Crop call': when the words typed after the match are close to the rest of a longer client's name (but not
    it, and not a word a command expects there), suggest that client instead of acting on the shorter match."""
    def typed(size: int) -> str:  # what was typed after the match, as far as a name of `size` words would reach
        return name_key(to_plain(args[spans[words][0]: spans[size - 1][1]]))

    def expected(size: int) -> bool:  # a word a command expects right after the name: never a misspelling
        first = typed(size).split()[:1]  # none when markup alone was typed there
        return bool(first) and (first[0] in COMMAND_WORDS or normalize_kind(first[0]) is not None)

    if all(expected(size) for size in range(words + 1, len(spans) + 1)):
        return  # nothing after the match could be a misspelt name (`log Acme call`): no query to ask
    longer = found if found is not None else clients_with_key_prefix(session, workspace_id, key + " ", 6)
    for client in longer:
        own = client.name_key.split()
        size = len(own)
        if size <= words or size > len(spans) or expected(size):
            continue
        rest = " ".join(own[words:])
        if typed(size) != rest and difflib.SequenceMatcher(None, typed(size), rest).ratio() >= MISSPELT:
            shown = to_plain(args[: spans[size - 1][1]]).strip()
            raise ClientLookupError(f"No client matches {shown!r}. Did you mean {client.name}?")
