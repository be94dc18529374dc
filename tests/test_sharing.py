"""Sharing a monthly review with the client (PRODUCT.md §4.12): once per frozen month and whole — the message and its
chart both arrive, or the owner is told exactly what did not and a retry completes it without posting anything
twice — and worded for the client: about the work, never our label for the relationship or its warning signs.
Through the real Bolt app, the fake Slack's three-step upload and its failures, on SQLite and PostgreSQL.

Each test here failed on the code before issue 30: the client read "Touches from we", "At risk" and "at risk" and
the chart plotted our labels; a chart refused for a missing scope left the message posted while the owner was told
nothing was shared, and the retry posted it again; so did a retry after a chart that did not arrive, and after a
post whose outcome Slack never told; a forged Share for a month never frozen posted every time; and the reviews of
2000-01 to 2000-05 answered "Sorry, something went wrong".
"""

from __future__ import annotations

import json
from datetime import timedelta

from matplotlib.text import Text
from sqlalchemy import select

from bot.relationship.health import LABELS
from bot.reviews.chart import chart_figure
from bot.reviews.share import chart_points
from storage.models import ReviewMonth
from tests.helpers import client_named
from tests.test_capture import SHARED
from tests.test_reviews import _script_november, _section, at
from tests.test_sweep import run_sweep, words

POSTED = "Our month together"


def _ready(rapport) -> dict:
    """November scripted and frozen; Acme Corp's Share button."""
    _script_november(rapport)
    run_sweep(rapport, at(1, 10, month=12), digest=None)
    rapport.clock.now = at(1, 11, month=12)
    acme = client_named(rapport.database, "Acme Corp").id
    return {"action_id": "review_share", "value": f"{acme}:2026-11"}


def _posted(rapport) -> list[dict]:
    return [m for m in rapport.fake.messages.get(SHARED, []) if POSTED in words(m)]


def _charts(rapport) -> list:
    return rapport.fake.shared_files.get(SHARED, [])


def _frozen(rapport) -> ReviewMonth:
    with rapport.database.sessions() as session:
        return session.scalars(select(ReviewMonth).where(ReviewMonth.month == "2026-11")
                               .order_by(ReviewMonth.client_id)).first()


def test_the_client_reads_about_the_work_never_our_label_or_warning_signs(capturing):
    rapport = capturing
    share = _ready(rapport)
    assert "Shared Acme Corp's review" in rapport.click(share).text
    [message] = _posted(rapport)
    shown = words(message)
    assert "Touches from you: 3" in shown and "Touches from us: 2" in shown and "from we" not in shown
    for ours in (*LABELS, "at risk", "Health", "Warning sign", "signals"):
        assert ours.lower() not in shown.lower(), ours
    # a goal whose confidence fell: the numbers, not our verdict
    assert "cut onboarding to a week (by Fri 29 Jan 2027): stated odds 70%, our confidence 8 → 5" in shown
    assert "Our confidence in cut onboarding to a week fell from 8 to 5 (of 10)" in shown
    assert "Promise missed: the quarterly report" in shown and "Question left unanswered" in shown

    # the chart plots touches each way, and nothing of our reading of them
    figures = json.loads(_frozen(rapport).figures)
    drawn = " ".join(t.get_text() for t in chart_figure(chart_points(figures)).findobj(Text))
    assert "From you" in drawn and "From us" in drawn
    assert not [label for label in LABELS if label in drawn], drawn

    # the team's version is as it was
    team = rapport.command("review acme corp 2026-11").text
    assert "Goal at risk: cut onboarding to a week" in _section(team, "What went wrong")
    assert _section(team, "Health")[0].startswith("This month: ")
    assert "falling (8 → 5), at risk" in _section(team, "Goals")[1]


def test_a_chart_refused_for_a_missing_scope_shares_nothing_and_after_reinstalling_shares_once(capturing):
    rapport = capturing
    share = _ready(rapport)
    rapport.fake.method_errors["files.getUploadURLExternal"] = "missing_scope"  # installed before files:write
    refused = rapport.click(share).text
    assert "files:write" in refused and "Reinstall the app" in refused and "Nothing was shared" in refused
    assert _posted(rapport) == [] and _charts(rapport) == []
    assert _frozen(rapport).shared_at is None  # free to share again

    del rapport.fake.method_errors["files.getUploadURLExternal"]  # reinstalled with the scope
    assert "Shared Acme Corp's review of November 2026" in rapport.click(share).text
    assert len(_posted(rapport)) == 1 and len(_charts(rapport)) == 1
    assert "Already shared by" in rapport.click(share).text
    assert len(_posted(rapport)) == 1 and len(_charts(rapport)) == 1


def test_a_chart_that_did_not_arrive_is_added_by_the_next_click_and_the_review_is_not_posted_again(capturing):
    rapport = capturing
    share = _ready(rapport)
    rapport.fake.method_errors["files.completeUploadExternal"] = "internal_error"
    partial = rapport.click(share).text
    assert "is in <#CSHARED>, but its chart did not arrive" in partial and "not posted twice" in partial
    assert len(_posted(rapport)) == 1 and _charts(rapport) == []

    assert "still did not arrive" in rapport.click(share).text  # still refused: still one message, no chart
    assert len(_posted(rapport)) == 1 and _charts(rapport) == []

    del rapport.fake.method_errors["files.completeUploadExternal"]
    assert "Added the chart of the last six months" in rapport.click(share).text
    [message], [chart] = _posted(rapport), _charts(rapport)
    assert chart.thread_ts == message["ts"] and chart.data.startswith(b"\x89PNG")
    assert "Already shared by" in rapport.click(share).text
    assert len(_posted(rapport)) == 1 and len(_charts(rapport)) == 1


def test_a_post_whose_outcome_slack_never_told_is_looked_for_before_it_is_ever_posted_again(capturing):
    rapport = capturing
    share = _ready(rapport)
    rapport.fake.fail_next("chat.postMessage", "5xx-after")  # Slack posted it, then answered 503
    unknown = rapport.click(share).text
    assert "did not say whether" in unknown and "never posted twice" in unknown
    assert len(_posted(rapport)) == 1 and _charts(rapport) == []
    assert "Already being shared by" in rapport.click(share).text  # a moment later: still on its way

    rapport.clock.now += timedelta(minutes=3)
    assert "Added the chart" in rapport.click(share).text  # found in the channel by its metadata: only the chart
    [message], [chart] = _posted(rapport), _charts(rapport)
    assert chart.thread_ts == message["ts"]
    assert _frozen(rapport).shared_ts == message["ts"]


def test_a_share_click_for_a_month_never_frozen_posts_nothing(capturing):
    """…and says the true reason: the month is under way, ended but not frozen yet, or ended before Rapport froze
    anything for the client."""
    rapport = capturing
    _script_november(rapport)
    acme = client_named(rapport.database, "Acme Corp").id

    def refusal(month: str) -> str:
        return rapport.click({"action_id": "review_share", "value": f"{acme}:{month}"}).text

    rapport.clock.now = at(1, 8, month=12)  # November is over; the sweep that freezes it has not run yet
    for _ in range(2):
        said = refusal("2026-11")
        assert "Acme Corp's review of November 2026 is not frozen yet" in said and "not finished" not in said
    run_sweep(rapport, at(1, 10, month=12), digest=None)
    rapport.clock.now = at(1, 11, month=12)
    for _ in range(2):
        said = refusal("2026-10")  # before Rapport froze anything
        assert "Acme Corp's review of October 2026 can't be shared" in said and "was never frozen" in said
        assert "not finished" not in said and "/client review Acme Corp 2026-10" in said
        assert "Acme Corp's review of December 2026 is not finished yet" in refusal("2026-12")  # under way
    assert _posted(rapport) == [] and _charts(rapport) == []


def test_the_first_months_a_review_can_be_asked_for_are_answered(rapport):
    rapport.command("add Acme Corp")
    for month in range(1, 7):
        reply = rapport.command(f"review acme corp 2000-{month:02d}").text
        assert f"Monthly review · Acme Corp · {['January', 'February', 'March', 'April', 'May', 'June'][month - 1]} " \
               "2000" in reply, reply
    too_early = rapport.command("review acme corp 1999-12").text
    assert "1999-12 is too early: reviews go back to 2000-01 at the earliest" in too_early
    assert "is not a month" not in too_early
