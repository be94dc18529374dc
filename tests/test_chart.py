"""A review's six-month chart (PRODUCT.md §4.12): a PNG of touches each way per month (never our health label: the
chart goes to the client), shared in a channel through Slack's external upload, and saved beside you by the offline
shell."""

from __future__ import annotations

import struct
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.reviews.chart import MonthPoint, six_month_chart
from bot.shell.console_slack import ConsoleSlack
from bot.shell.render_text import render
from bot.shell.saved_files import safe_name
from bot.slack.files import upload_png
from tests.fake_slack import UPLOAD, FakeSlack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HALF_YEAR = [MonthPoint("2026-06", 3, 5), MonthPoint("2026-07", 0, 2), MonthPoint("2026-08", 0, 0),
             MonthPoint("2026-09", 1, 4), MonthPoint("2026-10", 6, 3), MonthPoint("2026-11", 4, 4)]


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


# ---- the chart ----

@pytest.mark.parametrize("months", range(1, 7))
def test_one_to_six_months_make_a_readable_png(months):
    png = six_month_chart(HALF_YEAR[:months])
    assert size_of(png) == (800, 450)  # the same frame whatever the months, for Slack's preview
    assert 2_000 < len(png) < 200_000


def test_months_with_no_touches_still_draw():
    quiet = [MonthPoint("2026-10", 0, 0), MonthPoint("2026-11", 0, 0)]
    assert size_of(six_month_chart(quiet)) == (800, 450)


def test_the_same_months_give_the_same_image_and_other_months_another():
    assert six_month_chart(HALF_YEAR) == six_month_chart(list(HALF_YEAR))
    changed = [*HALF_YEAR[:-1], MonthPoint("2026-11", 4, 5)]
    assert six_month_chart(changed) != six_month_chart(HALF_YEAR)


@pytest.mark.parametrize(("points", "message"), [
    ([], "1 to 6 months, not 0"),
    ([*HALF_YEAR, MonthPoint("2026-12", 1, 1)], "1 to 6 months, not 7"),
    ([MonthPoint("2026-13", 1, 1)], "'2026-13' is not YYYY-MM"),
    ([MonthPoint("Nov 2026", 1, 1)], "'Nov 2026' is not YYYY-MM"),
    ([MonthPoint("2026-11", -1, 1)], "2026-11: touches cannot be negative"),
])
def test_what_cannot_be_drawn_is_refused(points, message):
    with pytest.raises(ValueError, match=message):
        six_month_chart(points)


# ---- sharing it in Slack ----

def client_of(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def test_the_chart_arrives_in_the_channel_with_its_comment(fake_slack):
    png = six_month_chart(HALF_YEAR)
    upload_png(client_of(fake_slack), channel="CACME", filename="rapport-review-acme-2026-11.png",
               title="Acme Corp · November 2026", png=png,
               initial_comment="📊 Acme Corp's review", thread_ts="1.000100")
    [shared] = fake_slack.shared_files["CACME"]
    assert shared.data == png and shared.filename == "rapport-review-acme-2026-11.png"
    assert shared.title == "Acme Corp · November 2026"
    assert (shared.initial_comment, shared.thread_ts) == ("📊 Acme Corp's review", "1.000100")
    assert [c.method for c in fake_slack.calls] == [
        "files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]
    assert fake_slack.called("files.getUploadURLExternal")[0].params["length"] == str(len(png))


def test_a_channel_slack_refuses_raises_and_shares_nothing(fake_slack):
    fake_slack.channel_errors["CGONE"] = "channel_not_found"
    with pytest.raises(SlackApiError) as refused:
        upload_png(client_of(fake_slack), channel="CGONE", filename="r.png", title="r", png=PNG_SIGNATURE)
    assert refused.value.response["error"] == "channel_not_found"
    assert fake_slack.shared_files == {}


@pytest.mark.parametrize("step", ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"])
def test_a_failed_step_raises_and_shares_nothing(fake_slack, step):
    fake_slack.fail_next(step, "5xx")
    with pytest.raises(SlackClientError):  # the bytes refused too: not urllib's own error
        upload_png(client_of(fake_slack), channel="CACME", filename="r.png", title="r", png=PNG_SIGNATURE)
    assert fake_slack.shared_files == {}


# ---- the offline shell ----

def test_the_shell_saves_a_shared_chart_in_the_current_directory_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    png = six_month_chart(HALF_YEAR)
    with ConsoleSlack() as console:
        upload_png(WebClient(token="xoxb-shell", base_url=console.url + "/api/"), channel="CACME",
                   filename="rapport-review-acme-2026-11.png", title="Acme <Corp> review", png=png,
                   initial_comment="📊 Monthly review")
        [posted] = console.drain()
    saved = tmp_path / "rapport-review-acme-2026-11.png"
    assert saved.read_bytes() == png
    assert posted["channel"] == "CACME"
    shown, _ = render(posted, ZoneInfo("UTC"))
    assert shown == f"📊 Monthly review\n🖼 Acme <Corp> review saved to {saved.resolve()}"


def test_a_file_name_cannot_leave_the_directory():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\evil review.png") == "evil-review.png"
    assert safe_name("../..") == "rapport-file"
