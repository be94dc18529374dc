"""Logs at any level, DEBUG included, hold no token, no OAuth code or state and no message text; the access log
never writes a query string (PRODUCT.md §7). Checked on real processes: what they write to stderr."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from bot.logs import redact
from bot.settings import SettingsError, load_settings
from tests.cli import RAPPORT, clean_env, run
from tests.conftest import SECRET_KEY, SIGNING_SECRET, sign
from tests.test_serve import _free_port
from tests.test_sweep import MONDAY

BOT_TOKEN = "xoxb-1111-2222-SeCrEtToKeN"
THEIR_WORDS = "the merger is off, tell nobody"  # a client's message in a channel Rapport reads


def _debug_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " DEBUG " in line]


def test_a_debug_sweep_that_posts_and_reads_history_logs_no_token_and_no_message_text(rapport, database_url,
                                                                                      tmp_path):
    rapport.command("add Acme Corp channel <#CACME|acme> contact Jane Doe")
    rapport.fake.messages["CACME"] = [{"ts": "1.000001", "user": "UJANE", "text": THEIR_WORDS}]
    rapport.fake.fail_next("chat.postMessage", "5xx")  # an unknown outcome: delivery reads the channel's history
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": rapport.fake.api_url,
           "RAPPORT_LOG_LEVEL": "DEBUG", "RAPPORT_DIGEST": "off"}
    outputs = []
    for minutes in (0, 20):
        at = (MONDAY + timedelta(days=31, minutes=minutes)).isoformat()
        result = run(["sweep", "--at", at], tmp_path, **env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    log = "\n".join(outputs)
    assert rapport.fake.called("conversations.history") and rapport.fake.messages["CACME"][-1]["blocks"]
    posted = json.dumps(rapport.fake.messages["CACME"][-1]["blocks"])
    assert "has gone quiet" in posted  # what the log must not hold
    sent = [line for line in _debug_lines(log) if "Sending a request" in line]
    assert any("chat.postMessage" in line for line in sent) and any("conversations.history" in line for line in sent)
    assert any("Received the following response - status: 200" in line for line in _debug_lines(log))
    for secret in (BOT_TOKEN, "xoxb-1111", THEIR_WORDS, "merger", "has gone quiet", "Jane Doe"):
        assert secret not in log, secret


def _start_oauth_serve(tmp_path, api_url: str) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = _free_port()
    env = clean_env(tmp_path, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="oauth-secret",
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api_url, PORT=str(port),
                    RAPPORT_SCHEDULER="off", RAPPORT_SECRET_KEY=SECRET_KEY, RAPPORT_LOG_LEVEL="DEBUG")
    process = subprocess.Popen([RAPPORT, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return process, base
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("rapport serve did not come up:\n" + (process.stdout.read() if process.stdout else ""))
            time.sleep(0.2)


def _post(base: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + "/slack/events", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_at_debug_keeps_oauth_codes_tokens_and_commands_out_of_its_log(tmp_path, fake_slack):
    code = "7777.code-from-slack"
    fake_slack.grant(code, "T1")
    process, base = _start_oauth_serve(tmp_path, fake_slack.api_url)
    try:
        with urllib.request.urlopen(base + "/slack/install", timeout=10) as page:
            html = page.read().decode()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        state = re.search(r"state=([^&\"]+)", html).group(1)  # type: ignore[union-attr]
        back = urllib.request.Request(f"{base}/slack/oauth_redirect?code={code}&state={state}",
                                      headers={"Cookie": cookie})
        with urllib.request.urlopen(back, timeout=10) as done:
            assert done.status == 200
        [issued] = fake_slack.tokens
        body = urlencode({"team_id": "T1", "user_id": "UANA", "command": "/client", "trigger_id": "t",
                          "text": "add Quiet Harbour Holdings", "response_url": f"{fake_slack.url}/response/r"})
        assert _post(base, body.encode(), {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}) == 200
        [answer] = fake_slack.wait_for("response/r", timeout=10)
        assert "Quiet Harbour Holdings" in answer.params["text"]
        # before authentication: refused unparsed, and nothing over a mebibyte is taken in
        assert _post(base, b"[" * 200_000, {"Content-Type": "application/json"}) == 401
        assert _post(base, b"x" * (2 * 1024 * 1024), {"Content-Type": "application/json"}) == 413
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert _debug_lines(output), "RAPPORT_LOG_LEVEL=DEBUG was not applied"
    access = [line for line in output.splitlines() if "/slack/oauth_redirect" in line and '"GET ' in line]
    assert access and all("?" not in line and "code=" not in line for line in access), access
    for secret in (code, state, issued, "xoxb-", "oauth-secret", SIGNING_SECRET, "Quiet Harbour"):
        assert secret not in output, secret
    assert "Traceback" not in output and "RecursionError" not in output


def test_redaction_of_what_slack_sdk_and_bolt_log():
    """The lines as slack_sdk 3.x and Bolt 1.x write them (slack_sdk/web/base_client.py, slack_bolt/logger)."""
    request = ("Sending a request - url: https://slack.com/api/chat.postMessage, query_params: {}, body_params: {}, "
               "files: {}, json_body: {'channel': 'C1', 'text': 'Acme Corp has gone quiet', 'blocks': "
               "[{'type': 'section', 'text': {'type': 'mrkdwn', 'text': \"Jane's words\"}}]}, headers: "
               "{'Authorization': '(redacted)'}")
    assert redact(request, "slack_sdk.web.base_client") == ("Sending a request - url: "
                                                           "https://slack.com/api/chat.postMessage (parameters not "
                                                           "logged)")
    response = ('Received the following response - status: 200, headers: {}, body: {"ok":true,"messages":'
                '[{"text":"the merger is off"}],"access_token":"xoxb-1-2-3"}')
    assert redact(response, "slack_sdk.web.base_client") == ("Received the following response - status: 200 "
                                                            "(body not logged)")
    assert redact('Responding with status: 200 body: "Added Acme Corp." (4 millis)', "slack_bolt.App") == \
        "Responding with status: 200 body not logged"
    socket_mode = 'Sending a message (session id: s1, message: {"envelope_id": "e", "payload": {"text": "hi"}})'
    assert redact(socket_mode, "slack_sdk.socket_mode.builtin.client") == "Sending a message not logged"
    assert redact("Failed to fetch oauth.v2.access result with code: 123.abc - error: invalid_code",
                  "slack_bolt.oauth.oauth_flow.OAuthFlow") == ("Failed to fetch oauth.v2.access result with code: "
                                                               "[redacted] - error: invalid_code")
    anywhere = redact("'xoxb-1-2-abc' xoxe.xoxb-1-T1-3 xapp-1-A1-abc GET /slack/oauth_redirect?code=1.2&state=s3",
                      "rapport")
    assert anywhere == "'xoxb-[redacted]' xoxe-[redacted] xapp-[redacted] GET /slack/oauth_redirect?code=[redacted]" \
                       "&state=[redacted]"
    assert redact('{"user": "U1", "text": "He said \\"no\\" twice"}') == '{"user": "U1", "text": \'[redacted]\'}'


@pytest.mark.parametrize("level", ["loud", "verbose", "5"])
def test_a_bad_log_level_stops_start_up_naming_the_variable(tmp_path, level):
    with pytest.raises(SettingsError, match=r"^RAPPORT_LOG_LEVEL: use one of DEBUG, INFO, WARNING, ERROR"):
        load_settings({"RAPPORT_LOG_LEVEL": level})
    result = run(["sweep", "--dry-run"], tmp_path, RAPPORT_LOG_LEVEL=level)
    assert result.returncode == 2
    assert result.stderr.strip() == f"rapport: RAPPORT_LOG_LEVEL: use one of DEBUG, INFO, WARNING, ERROR, not {level!r}"
    assert load_settings({"RAPPORT_LOG_LEVEL": " debug "}).log_level == "DEBUG"
