""""Did you mean …?" (issue 32): the names close to a mistyped one are found by RapidFuzz instead of difflib scoring
every name in Python, and the suggestions are the very ones difflib gave. `_old_suggestions` is the code it replaced,
word for word; each test compares the two over generated names and typos, and the pool the database hands over with
the one it handed over before (a count of the workspace's clients, names sharing the first letter past the pool's
size), on SQLite and PostgreSQL."""

from __future__ import annotations

import difflib
import random
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from bot.bulk.demo import FIRST, PEOPLE, SECOND, SURNAMES
from bot.commands import matching
from bot.commands.matching import ClientLookupError, closest, find_client
from bot.slack.text import to_plain
from storage.models import Client, Workspace
from storage.names import name_key

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _old_similarity(probe: str, key: str) -> float:
    head = " ".join(key.split()[: len(probe.split())])
    matcher = difflib.SequenceMatcher(None, probe, key)
    score = matcher.ratio() if matcher.real_quick_ratio() >= 0.5 else 0.0
    if head != key:
        score = max(score, difflib.SequenceMatcher(None, probe, head).ratio())
    return score


def _old_suggestions(words: list[str], pool: list[str]) -> list[str]:
    """Today's `_suggest` before issue 32, less the database and the sentence around the names."""
    by_key = {name_key(n): n for n in pool}
    best: dict[str, float] = {}
    for size in range(1, min(len(words), 3) + 1):
        probe = name_key(to_plain(" ".join(words[:size])))
        for key in by_key:
            score = _old_similarity(probe, key)
            if score >= 0.7:
                best[key] = max(best.get(key, 0.0), score)
    ranked = sorted(best, key=lambda k: (-best[k], k))[:3]
    return [by_key[k] for k in ranked]


def suggestions(words: list[str], names: list[str]) -> list[str]:
    """What `_suggest` now names: the closest keys, shown as their clients' names."""
    by_key = {name_key(n): n for n in names}
    return [by_key[k] for k in closest(words, list(by_key))]


def _names(rng: random.Random, count: int) -> list[str]:
    """Names as people have them: the demo's, numbered duplicates, people's names, short and long, accented; one
    spelling of each name key, as a workspace keeps them."""
    names: dict[str, str] = {}
    while len(names) < count:
        shape = rng.random()
        if shape < 0.4:
            number = f" {rng.randint(2, 30)}" if rng.random() < 0.3 else ""
            name = f"{rng.choice(FIRST)} {rng.choice(SECOND)}{number}"
        elif shape < 0.6:
            name = f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)} & Co"
        elif shape < 0.8:
            name = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(2, 9)))
            name += "" if rng.random() < 0.5 else " " + rng.choice(SECOND)
        else:
            name = rng.choice(("Café", "Zürich", "Ōsaka", "São", "Ærø", "Straße")) + " " + rng.choice(SECOND)
        names.setdefault(name_key(name), name)
    return sorted(names.values())


def _typo(rng: random.Random, name: str) -> str:
    """One or two slips of the fingers, or a word left out, added or swapped, or a command's words after it."""
    text = name
    for _ in range(rng.choice((1, 1, 2))):
        at = rng.randrange(len(text) + 1)
        slip = rng.choice(("drop", "add", "swap", "replace", "case", "word", "tail"))
        if slip == "drop" and len(text) > 1:
            text = text[:at] + text[at + 1:]
        elif slip == "add":
            text = text[:at] + rng.choice(string.ascii_lowercase) + text[at:]
        elif slip == "swap" and at < len(text) - 1:
            text = text[:at] + text[at + 1] + text[at] + text[at + 2:]
        elif slip == "replace" and at < len(text):
            text = text[:at] + rng.choice(string.ascii_lowercase + " ") + text[at + 1:]
        elif slip == "case":
            text = text.swapcase()
        elif slip == "word":
            words = text.split()
            text = " ".join(words[:-1]) if len(words) > 1 else text + " " + rng.choice(SECOND)
        else:
            text += " " + rng.choice(("call", "email to: sent the deck", "every 2w", "from Acme", "*bold*"))
    return text


def test_the_suggestions_are_difflibs_over_generated_names_and_typos() -> None:
    rng = random.Random(32)
    pool = _names(rng, 400)
    checked = suggested = 0
    for _ in range(300):
        words = _typo(rng, rng.choice(pool)).split() or ["x"]
        expected = _old_suggestions(words, pool)
        assert suggestions(words, pool) == expected, words
        checked += 1
        suggested += bool(expected)
    assert suggested > checked // 2  # mostly typos close enough to suggest something: the comparison means something


def test_the_suggestions_are_difflibs_among_many_names_alike() -> None:
    """A portfolio like seed-demo's: hundreds of names sharing their first words (`Northwind Analytics 7`), where
    many names tie and the first three by name are shown."""
    names = [f"{first} {second}" + (f" {n}" if n > 1 else "") for first in FIRST[:6] for second in SECOND
             for n in range(1, 11)]
    rng = random.Random(3)
    for _ in range(30):
        words = _typo(rng, rng.choice(names)).split() or ["x"]
        assert suggestions(words, names) == _old_suggestions(words, names), words


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool=st.lists(st.text(alphabet="abcab ", min_size=1, max_size=9), min_size=1, max_size=40),
       typed=st.text(alphabet="abc ", min_size=1, max_size=12))
def test_the_suggestions_are_difflibs_where_the_two_scores_differ_most(pool: list[str], typed: str) -> None:
    """Few letters, many repeats: where difflib's matching blocks fall furthest short of the longest common
    subsequence, and where a prefilter that scored above difflib too rarely or too often would show."""
    names = [n for n in dict.fromkeys(" ".join(p.split()) for p in pool) if n]
    words = typed.split() or [typed]
    assert suggestions(words, names) == _old_suggestions(words, names)


def _workspace(database, names: list[str]) -> int:  # type: ignore[no-untyped-def]
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=NOW - timedelta(days=400))
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": n, "name_key": name_key(n), "owner_id": "UANA", "status": "active",
             "created_by": "UANA", "created_at": NOW, "opted_out": False, "no_winback": False} for n in names])
        return workspace.id


def _old_pool(session, workspace_id: int, first_char: str, limit: int) -> list[str]:  # type: ignore[no-untyped-def]
    total = session.scalar(select(func.count()).select_from(Client).where(Client.workspace_id == workspace_id))
    stmt = select(Client.name).where(Client.workspace_id == workspace_id)
    if (total or 0) > limit and first_char:
        stmt = stmt.where(Client.name_key >= first_char, Client.name_key < first_char + "\U0010ffff")
    return list(session.scalars(stmt.order_by(Client.name_key).limit(limit)))


@pytest.mark.parametrize("pool_size", [10_000, 60])  # the whole workspace; past the pool, names of one first letter
def test_a_mistyped_client_gets_the_suggestions_it_got_before(database, monkeypatch, pool_size: int) -> None:
    monkeypatch.setattr(matching, "SUGGESTION_POOL", pool_size)
    rng = random.Random(7)
    names = [*_names(rng, 300), "Benchmark Co"]
    workspace_id = _workspace(database, names)
    shown = 0
    with database.sessions() as session:
        for _ in range(100):
            words = _typo(rng, rng.choice(names)).split() or ["x"]
            pool = _old_pool(session, workspace_id, name_key(to_plain(" ".join(words)))[:1], pool_size)
            expected = _old_suggestions(words, pool)
            message = matching._suggest(session, workspace_id, words)
            if expected:
                shown += 1
                assert message.endswith(f"Did you mean {' or '.join(expected)}?"), (words, message)
            else:
                assert message.endswith("Add it with /client add, or see /client list all."), (words, message)
        assert shown > 30
        with pytest.raises(ClientLookupError, match=r"Did you mean Benchmark Co\?"):  # what a command answers
            find_client(session, workspace_id, "Benchmrk Co")
