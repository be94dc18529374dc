"""Pure parts: dates as typed, periods, Slack markup, the add grammar, and the shell's rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.commands.manage import parse_add
from bot.shell.render_text import render
from bot.slack import blocks as b
from bot.slack.caller import CommandError
from bot.slack.text import to_plain
from bot.when import WhenError, add_period, parse_period, parse_when

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)  # a Wednesday
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(("typed", "expected"), [
    ("", NOW), ("today", NOW), ("wednesday", NOW), ("0d ago", NOW),
    ("yesterday", datetime(2026, 11, 17, 12, tzinfo=UTC)),
    ("3d ago", datetime(2026, 11, 15, 12, tzinfo=UTC)),
    ("2 weeks ago", datetime(2026, 11, 4, 12, tzinfo=UTC)),
    ("monday", datetime(2026, 11, 16, 12, tzinfo=UTC)),
    ("thu", datetime(2026, 11, 12, 12, tzinfo=UTC)),
    ("2026-11-01", datetime(2026, 11, 1, 12, tzinfo=UTC)),
    ("2024-02-29", datetime(2024, 2, 29, 12, tzinfo=UTC)),
])
def test_when_forms(typed, expected):
    assert parse_when(typed, NOW, LONDON) == expected


def test_when_follows_the_users_calendar():
    # 10:30 UTC is already 19:30 in Tokyo, still the same day; 16:00 UTC is the next day there.
    late = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    assert parse_when("yesterday", late, TOKYO) == datetime(2026, 11, 18, 3, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2026-11-19", "2026-02-30", "2025-13-01", "tomorrow", "next week",
                                   "99999d ago", "1900-01-01"])
def test_impossible_or_future_dates_are_errors(typed):
    with pytest.raises(WhenError):
        parse_when(typed, NOW, LONDON)


def test_periods():
    assert parse_period("2w") == (2, "w")
    assert parse_period("14 days") == (14, "d")
    assert parse_period("1m") == (1, "m")
    for bad in ("0d", "400d", "13m", "fortnight", "2y"):
        with pytest.raises(WhenError):
            parse_period(bad)
    assert add_period(datetime(2026, 1, 31, tzinfo=UTC), 1, "m") == datetime(2026, 2, 28, tzinfo=UTC)


def test_slack_markup_becomes_inert_plain_text():
    assert to_plain("hi <@U123|ana> in <#C9|general>") == "hi @ana in #general"
    assert to_plain("<!channel> <!here> <!subteam^S1|@design>") == "@channel @here @design"
    assert to_plain("<https://x.example|click me> &lt;b&gt; &amp;") == "click me (https://x.example) <b> &"
    assert to_plain("bell\x07 and\x1b escape") == "bell and escape"


def test_add_grammar():
    request = parse_add("Acme Corp every 2w owner <@UBEN|ben> channel <#CX|x> contact Jane van Dyke")
    assert (request.name, request.every, request.owner, request.channel, request.contact) == (
        "Acme Corp", (2, "w"), "UBEN", "CX", "Jane van Dyke")
    assert parse_add('"Owner Channel Partners" contact Al').name == "Owner Channel Partners"
    for bad, says in (("Acme owner ben", "@mention"), ("Acme every", "needs a value"),
                      ("Acme every 2w every 3w", "given twice"), ('"Acme contact Al', "never closed"),
                      ('"Acme" junk', "don't understand")):
        with pytest.raises(CommandError, match=says):
            parse_add(bad)


def test_shell_rendering_shows_buttons_and_dates():
    message = b.reply(
        "x",
        b.header("Acme Corp"),
        b.paragraph("Due ", b.date(datetime(2026, 11, 30, 12, tzinfo=UTC)), " for ", b.user("UANA")),
        b.actions(b.button("Snooze", "snooze", "1"), b.button("Done", "done", "1")),
    ).as_message()
    shown, buttons = render(message, LONDON, {"UANA": "ana"}.get)
    assert shown.splitlines() == ["Acme Corp", "=========", "Due Mon 30 Nov 2026 for @ana",
                                  "[Snooze]  [Done]   (click 1-2)"]
    assert [x["action_id"] for x in buttons] == ["snooze", "done"]


def test_shell_rendering_reads_slack_tokens_in_mrkdwn():
    message = {"blocks": [b.context(":white_check_mark: <@UANA> checked in <!date^1795344574^{date_short_pretty}|"
                                    "2026-11-22 10:49 UTC> in <#CX|acme>")]}
    shown, _ = render(message, LONDON, {"UANA": "ana"}.get)
    assert shown == "  ✅ @ana checked in 2026-11-22 10:49 UTC in #acme"


def test_user_text_never_lands_in_mrkdwn():
    reply = b.error("No client matches '<!channel> *x*'.")
    assert all(e.get("type") != "mrkdwn" for block in reply.blocks for e in block.get("elements", []))
    assert "<!channel>" not in reply.text and "&lt;!channel&gt;" in reply.text
    assert len(b.header("x" * 500)["text"]["text"]) == 150
