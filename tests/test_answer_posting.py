"""Answers are sent to Slack apart from the thread that works them out (issue 32): with one answer thread per web
process, as served, a reply to `response_url` that Slack is slow to acknowledge holds up nobody else's answer."""

from __future__ import annotations

from urllib.parse import urlencode

from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, RapportServer, _served, sign


def _send(rapport: RapportServer, text: str, path: str) -> None:
    body = urlencode({"team_id": rapport.team, "user_id": rapport.user, "command": "/client", "text": text,
                      "response_url": f"{rapport.fake.url}/{path}", "trigger_id": "t.1"})
    assert rapport.post(body, sign(body)).status == 200


def test_an_answer_slack_is_slow_to_take_holds_up_no_other(database, fake_slack, database_url):
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url)
    fake_slack.hang_seconds = 20.0
    with _served(settings, database, fake_slack, answer_threads=1) as rapport:
        rapport.command("add Acme Corp")
        fake_slack.fail_next("response/slow", "timeout")  # Slack has the answer, and never says so
        _send(rapport, "status acme corp", "response/slow")
        assert fake_slack.wait_for("response/slow")
        _send(rapport, "status acme corp", "response/next")
        assert fake_slack.wait_for("response/next", timeout=5), "the next answer waited on Slack's reply to the last"
        fake_slack.close()  # lets the hanging reply go, so the server stops at once
