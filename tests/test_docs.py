"""The documentation cannot drift from the code: every `/client` subcommand, `rapport` command, setting, nudge kind,
endpoint and metric the code holds is described in docs/reference/ (and nothing there is gone from the code), and
the pictures of what Rapport posts are what the product draws today. `mkdocs build --strict` (in .ci/run) runs the
same checks through the hook, plus links and navigation."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bot.settings import load_settings
from bot.shell.render_text import EMOJI
from docs.gen import pictures, reference

CLIENT_PAGE = reference.DOCS / "reference" / "client.md"


def _problems(page: str) -> list[str]:
    return reference.expand(page, (reference.DOCS / page).read_text(encoding="utf-8"))[1]


def test_the_reference_describes_everything_the_code_holds_and_nothing_more():
    assert reference.check_all() == []


def test_a_client_subcommand_without_a_section_is_reported(monkeypatch):
    from bot.commands import SUBCOMMANDS

    monkeypatch.setitem(SUBCOMMANDS, "frobnicate", lambda *_: None)
    monkeypatch.setitem(reference.USAGE, "frobnicate", "/client frobnicate <client>")
    assert _problems("reference/client.md") == [
        "/client subcommand 'frobnicate' is in the code but has no '### …' section here"]


def test_a_client_subcommand_gone_from_the_code_an_alias_and_missing_text_are_reported(monkeypatch):
    from bot.commands import SUBCOMMANDS

    monkeypatch.delitem(SUBCOMMANDS, "optout")
    monkeypatch.setitem(SUBCOMMANDS, "thank", SUBCOMMANDS["thanked"])  # an alias needs no section of its own
    text = CLIENT_PAGE.read_text(encoding="utf-8")
    text = text.replace("```text\n/client thanked acme\n```", "Nothing to show.")  # no example left
    text = re.sub(r"(### /client reactivate\n).*?(?=\n### )", r"\1", text, flags=re.DOTALL)  # no text at all
    problems = reference.expand("reference/client.md", text)[1]
    assert problems == [
        "/client subcommand 'optout' has a section here but is no longer in the code",
        "/client subcommand 'reactivate' has no text saying what it does",
        "/client subcommand 'thanked' has no example (a line starting with the command itself)",
    ]
    expanded = reference.expand("reference/client.md", CLIENT_PAGE.read_text(encoding="utf-8"))[0]
    assert "Also: `/client thank`" in expanded


def test_a_rapport_command_without_a_section_is_reported(monkeypatch):
    real = reference._parser

    def parser() -> argparse.ArgumentParser:
        made = real()
        commands = next(a for a in made._actions if isinstance(a, argparse._SubParsersAction))
        commands.add_parser("vacuum", help="tidy the database")
        return made

    monkeypatch.setattr(reference, "_parser", parser)
    assert _problems("reference/cli.md") == [
        "rapport command 'vacuum' is in the code but has no '### …' section here"]


def test_the_grammar_and_options_come_from_the_code():
    expanded = reference.expand("reference/cli.md", (reference.DOCS / "reference/cli.md").read_text())[0]
    assert "rapport reviews --month MONTH [--client CLIENT] --csv FILE [--team TEAM]" in expanded
    assert "| `--dry-run` |  | post nothing, write nothing |  |" in expanded
    expanded = reference.expand("reference/client.md", CLIENT_PAGE.read_text(encoding="utf-8"))[0]
    assert "/client checkin <client> every <N>d|w|m\n/client checkin <client> done [: <how they feel>]" in expanded


def test_a_setting_the_code_reads_without_a_line_in_env_example_is_reported_and_the_reverse():
    source = (reference.BOT / "settings.py").read_text(encoding="utf-8")
    added = source.replace('port=_int(env, "PORT", 3000, 1, 65535),',
                           'port=_int(env, "PORT", 3000, 1, 65535), fax=_int(env, "RAPPORT_FAX_PORT", 2525, 1, 9),')
    code = reference.settings_in({"bot/settings.py": added, "bot/server/serve.py":
                                  (reference.BOT / "server" / "serve.py").read_text(encoding="utf-8")})
    assert code["RAPPORT_FAX_PORT"].default == "2525" and code["RAPPORT_FAX_PORT"].bounds == ("1", "9")
    documented = reference.env_example()
    assert reference.settings_problems(code, documented) == [
        "RAPPORT_FAX_PORT is read by bot/settings.py but not in .env.example (add it there, with a comment saying "
        "what it does)"]
    documented["RAPPORT_GONE"] = ("", "a setting nobody reads")
    documented["RAPPORT_FAX_PORT"] = ("", "")
    assert reference.settings_problems(code, documented) == [
        "RAPPORT_GONE is in .env.example but nothing in bot/ reads it",
        "RAPPORT_FAX_PORT has no comment in .env.example saying what it does"]


def test_every_setting_read_anywhere_in_bot_is_found():
    found = set(reference.code_settings())
    assert {"DATABASE_URL", "PORT", "SLACK_BOT_TOKEN", "RAPPORT_DAILY_FOCUS", "WEB_CONCURRENCY"} <= found
    assert "TERM" not in found  # the terminal's, read by the shell: not a setting


def test_env_example_values_are_the_defaults():
    values = {name: value for name, (value, _) in reference.env_example().items() if value}
    assert values, "the defaults in .env.example were not read"
    assert load_settings(values) == load_settings({})


def test_every_emoji_rapport_posts_is_drawn_in_the_shell_and_the_pictures():
    used = set()
    for path in reference.BOT.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"emoji\(\"([a-z_0-9]+)\"\)", source))
        used |= set(re.findall(r"[\"' ]:([a-z_0-9]+):[\"' ]", source))
    assert used, "no emoji found: the pattern no longer matches how blocks name them"
    assert sorted(used - set(EMOJI)) == []


@pytest.mark.parametrize("name", pictures.SVGS)
def test_the_committed_pictures_are_what_the_product_draws_today(drawn, name):
    committed = (pictures.OUT / name).read_text(encoding="utf-8")
    assert (drawn / name).read_text(encoding="utf-8") == committed, (
        f"docs/pictures/{name} is not what Rapport posts today: run `python -m docs.gen.pictures` and commit it")


def test_the_review_chart_is_drawn(drawn):
    assert (drawn / pictures.CHART).read_bytes().startswith(b"\x89PNG")
    assert (pictures.OUT / pictures.CHART).read_bytes().startswith(b"\x89PNG")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pictures")
    pictures.draw(out)
    return out
