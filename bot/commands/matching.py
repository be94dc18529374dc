"""Finding the client a command names: quoted, the longest known name at the start, or a unique prefix."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from bot.relationship.kinds import normalize_kind
from bot.slack.text import to_plain
from storage.clients import client_keys_for_suggestions, clients_by_keys, clients_with_key_prefix
from storage.models import Client
from storage.names import name_key

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


CLOSE = 0.7  # how alike a typed name must be to a client's to be suggested


def _close(probe: str, choices: list[str]) -> list[tuple[float, int]]:
    """Which of `choices` could be CLOSE to `probe`, each with a score no lower than difflib's, found by RapidFuzz.

    RapidFuzz's ratio is 2·LCS/(|a|+|b|), from the longest common subsequence; difflib's is 2·M/(|a|+|b|), where M
    counts the characters of its matching blocks, which are one common subsequence, so M ≤ LCS: RapidFuzz never
    scores below difflib (less a rounding, added back), and nothing difflib finds CLOSE is left out."""
    found = process.extract(probe, choices, scorer=fuzz.ratio, score_cutoff=CLOSE * 100 - 1e-7, limit=None)
    return [(score / 100 + 1e-9, i) for _, score, i in found]


def _whole(probe: str, key: str) -> float:
    matcher = difflib.SequenceMatcher(None, probe, key)
    return matcher.ratio() if matcher.real_quick_ratio() >= 0.5 else 0.0


def _first_words(key: str, width: int) -> str | None:
    """The key's first `width` words, if it has more than that (none of them: nothing typed but markup)."""
    if width == 0:
        return "" if key else None
    parts = key.split(" ", width)
    return key[: len(key) - len(parts[width]) - 1] if len(parts) > width else None


def _all_first_words(keys: list[str], spaces: list[int], width: int) -> list[str]:
    """Every distinct first `width` words of the sorted `keys` that have more words than that (`spaces`: each key's
    count of spaces, one between words). Keys sharing their first words sort together: one look per group."""
    if width == 0:
        return [""]
    wide = [key for key, count in zip(keys, spaces, strict=True) if count >= width]
    heads, at = [], 0
    while at < len(wide):
        head = _first_words(wide[at], width)
        assert head is not None
        heads.append(head)
        at = bisect_left(wide, head + "!", at)  # past every key that begins `head ` (no character sorts between)
    return heads


def closest(words: list[str], keys: list[str]) -> list[str]:
    """Up to three of the name keys `keys` most like the typed `words` (or their first one or two words), best
    first, ties by key.

    A key's score is difflib's ratio with what was typed (counted only when their lengths are within a factor of
    three: difflib's real_quick_ratio ≥ 0.5), or with as many of its first words as were typed, whichever is
    higher; CLOSE or more is suggested. difflib scores only what RapidFuzz finds could reach CLOSE: first words
    many keys share (`northwind …`) once each, then whole keys by their RapidFuzz bound, best first, until none
    left could reach the third best. The same suggestions as scoring every key with difflib
    (tests/test_suggestions.py)."""
    keys = sorted(keys)
    spaces = [key.count(" ") for key in keys]
    bound: dict[int, float] = {}  # each candidate key's best possible score
    whole: dict[int, list[str]] = {}  # what was typed that the whole key may be close to
    by_first_words: dict[int, float] = {}  # a key's exact score by its first words, where that is CLOSE
    for size in range(1, min(len(words), 3) + 1):
        probe = name_key(to_plain(" ".join(words[:size])))
        width = len(probe.split())
        for score, i in _close(probe, keys):
            bound[i] = max(bound.get(i, 0.0), score)
            whole.setdefault(i, []).append(probe)
        heads = _all_first_words(keys, spaces, width)
        close: dict[str, float] = {}
        for _, h in _close(probe, heads):
            if (exact := difflib.SequenceMatcher(None, probe, heads[h]).ratio()) >= CLOSE:
                close[heads[h]] = exact
        # Keys sharing first words sort together and tie on them: only a group's first three can be among the best
        # three by first words alone; any other key of it that is close as a whole gets its first words' score too.
        after = {head: head + " " if head else "" for head in close}
        tied = [i for head in close for i in range(bisect_left(keys, after[head]), len(keys))[:3]
                if keys[i].startswith(after[head])]
        for i in [*tied, *whole]:
            head = _first_words(keys[i], width)
            if head in close:
                by_first_words[i] = max(by_first_words.get(i, 0.0), close[head])
                bound[i] = max(bound.get(i, 0.0), close[head])
    top: list[tuple[float, str]] = []  # (-score, key) of the best three so far
    for i in sorted(bound, key=lambda i: (-bound[i], keys[i])):
        if len(top) == 3 and (-bound[i], keys[i]) > top[-1]:
            break  # neither this key nor any after it can beat the third best
        best = max([by_first_words.get(i, 0.0), *(_whole(probe, keys[i]) for probe in whole.get(i, ()))])
        if best >= CLOSE:
            top = sorted([*top, (-best, keys[i])])[:3]
    return [key for _, key in top]


def _suggest(session: Session, workspace_id: int, words: list[str]) -> str:
    term = to_plain(" ".join(words))
    keys = client_keys_for_suggestions(session, workspace_id, name_key(term)[:1], SUGGESTION_POOL)
    ranked = closest(words, keys)
    shown = term if len(term) <= 40 else term[:40] + "…"
    if not ranked:
        return f"No client matches {shown!r}. Add it with /client add, or see /client list all."
    names = {c.name_key: c.name for c in clients_by_keys(session, workspace_id, ranked)}
    return f"No client matches {shown!r}. Did you mean {' or '.join(names[k] for k in ranked)}?"


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
