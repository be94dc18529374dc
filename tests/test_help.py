"""`/client help` (issue 34): the few commands everyone needs first, the rest grouped by what they are for, within
Slack's limits and never cut; `/client help <command>` for every command. Held as snapshots (tests/snapshots.py)."""

from __future__ import annotations

import pytest

from bot.commands.usage import EVERYDAY, USAGE
from tests.snapshots import reading

SECTION_MAX = 3000  # Slack's limit for a section's text
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _sections(reply) -> list[str]:
    found = []
    for block in reply.json()["blocks"]:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [e["text"] for e in block["elements"]]
    return found


def _within_limits(reply) -> None:
    blocks = reply.json()["blocks"]
    assert len(blocks) <= 50
    for text in _sections(reply):
        assert len(text) <= SECTION_MAX and not text.endswith("…"), "help is never cut"  # clip() ends a cut with …
    assert len(reply.json()["text"]) <= 3000


@SQLITE
def test_help_puts_the_everyday_commands_first_and_names_every_other(rapport, blocks_snapshot, text_snapshot):
    reply = rapport.command("help")
    assert reply.json()["blocks"] == blocks_snapshot
    assert reading(reply.json()["text"], reply.json()["blocks"]) == text_snapshot
    _within_limits(reply)
    everyday, others = _sections(reply)[:2]
    assert everyday.startswith("*Every day*\n`/client` alone opens the form to log a touch.")
    assert [name for name in EVERYDAY if f"`{USAGE[name]}`" in everyday] == list(EVERYDAY)
    for name in USAGE:
        assert f"`{name}`" in others, f"{name} is not listed"
    assert "/client help <command>" in reply.text
    assert len(reply.text.splitlines()) < 25, "a page, not a 29-command wall"


def test_help_for_each_command_shows_its_form_and_fits(rapport):
    for name in USAGE:
        reply = rapport.command(f"help {name}")
        assert reply.text.startswith(f"`{USAGE[name]}`\n"), reply.text
        _within_limits(reply)


@SQLITE
def test_help_for_one_command(rapport, blocks_snapshot, text_snapshot):
    for name in ("log", "me", "promise"):
        reply = rapport.command(f"help {name}")
        assert reply.json()["blocks"] == blocks_snapshot(name=name)
        assert reading(reply.json()["text"], reply.json()["blocks"]) == text_snapshot(name=name)
    assert "Kinds: call, meeting" in rapport.command("help log").text
    assert "Kinds: call, meeting" in rapport.command("help kinds").text
    assert "When: today, yesterday" in rapport.command("help dates").text


def test_help_for_something_unknown_suggests_the_closest(rapport):
    reply = rapport.command("help lgo")
    assert "There is no /client command called 'lgo'. Did you mean `/client help log`?" in reply.text
    assert "/client help [<command>]" in reply.text
