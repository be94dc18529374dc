"""GET /metrics (PRODUCT.md §8): 404 unless configured, 401 without the token, figures from the database."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from bot.nudges.sweep import delivery_client, sweep
from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, _served
from tests.test_sweep import run_sweep

TOKEN = "metrics-token-for-tests"
SATURDAY = datetime(2026, 12, 19, 10, tzinfo=UTC)


@pytest.fixture
def watched(database, fake_slack, database_url):
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, metrics_token=TOKEN)
    with _served(settings, database, fake_slack) as server:
        yield server


def _get(server, token: str | None = TOKEN) -> tuple[int, str]:
    request = urllib.request.Request(server.base + "/metrics",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.M)
    assert match, f"{name} not in the metrics"
    return float(match.group(1))


def test_metrics_are_not_there_unless_a_token_is_set(rapport):
    assert _get(rapport)[0] == 404


def test_metrics_need_the_bearer_token(watched):
    assert _get(watched, None)[0] == 401
    assert _get(watched, "wrong")[0] == 401
    status, text = _get(watched)
    assert status == 200 and "# TYPE rapport_nudges gauge" in text
    assert _value(text, 'rapport_nudges{status="pending"}') == 0
    assert _value(text, "rapport_last_sweep_timestamp_seconds") == 0


def test_figures_move_after_a_sweep(watched):
    server = watched
    for name in ("Acme Corp", "Globex"):
        server.command(f"add {name} channel <#CX|x>")
    run_sweep(server, SATURDAY + timedelta(days=31))  # Tuesday 19 January, 10:00: both quiet, both posted
    server.clock.now = SATURDAY + timedelta(days=31, minutes=1)
    text = _get(server)[1]
    assert _value(text, 'rapport_nudges{status="sent"}') == 2
    assert _value(text, "rapport_last_sweep_timestamp_seconds") == (SATURDAY + timedelta(days=31)).timestamp()
    assert _value(text, 'rapport_request_duration_seconds_count{path="/slack/events"}') >= 2

    # Slack unreachable: what focus chose waits in the outbox, and the oldest unsent grows
    server.command("add Initech channel <#CX|x>")
    down = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url="http://127.0.0.1:9/api/",
                    digest=None)
    at = SATURDAY + timedelta(days=62)  # Friday 19 February, 10:00: Initech is quiet, the others due a reminder
    sweep(server.database, down, delivery_client(down), at)
    server.clock.now = at + timedelta(hours=1)
    text = _get(server)[1]
    assert _value(text, 'rapport_nudges{status="pending"}') == 3
    assert _value(text, "rapport_oldest_unsent_nudge_seconds") == pytest.approx(3600, abs=1)
    assert _value(text, "rapport_last_sweep_timestamp_seconds") == at.timestamp()
