"""The database vanishes mid-delivery (PRODUCT.md §5): `rapport serve` talks to PostgreSQL through a proxy that
drops every connection and refuses new ones for 20 seconds. A command during the outage is answered within
3 s, saying nothing was saved; no process restarts; and once the database is back every due nudge goes out,
none twice, well within 3 minutes: nothing waits for the 10-minute lease."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from handlers import commands
from storage.models import Interaction, Nudge
from tests.cli import RAPPORT, clean_env
from tests.conftest import SIGNING_SECRET
from tests.tcp_proxy import TcpProxy
from tests.test_serve import _free_port, signed_command
from tests.test_stop import seed_due_now

CLIENTS, CHANNELS, OWNERS = 300, 3, 6
OUTAGE_SECONDS = 20
ANSWER_WITHIN = 3.0
BOUND_AFTER_RETURN = 180.0


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
        for child in children:
            found |= {child} | _descendants(child)
    return found


def _through(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def _posted(fake_slack) -> int:
    return sum(map(len, fake_slack.messages.values()))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_outage_mid_delivery_loses_nothing_doubles_nothing_and_heals_without_restarts(
        database, database_url, fake_slack, tmp_path):
    seed_due_now(database, CLIENTS, CHANNELS, OWNERS)
    upstream = make_url(database_url)
    proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
    fake_slack.per_channel_interval = 1.0  # about ten seconds of posting: time to cut it in the middle
    port = _free_port()
    env = clean_env(tmp_path, DATABASE_URL=_through(database_url, proxy), SLACK_BOT_TOKEN="xoxb-test",
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake_slack.api_url, PORT=str(port),
                    RAPPORT_BUSINESS_HOURS="mon-sun 00:00-24:00", RAPPORT_DIGEST="off",
                    RAPPORT_DAILY_FOCUS=str(CLIENTS // OWNERS))
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([RAPPORT, "serve"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert fake_slack.wait_until(lambda: _posted(fake_slack) >= 3, timeout=60), "delivery never started"
        family = _descendants(process.pid)
        proxy.cut()
        cut_at = time.monotonic()
        posted_at_cut = _posted(fake_slack)

        reply = f"response/{uuid.uuid4().hex[:8]}"
        sent = time.monotonic()
        assert signed_command(base, "log client 001 call from : during the outage", f"{fake_slack.url}/{reply}") == 200
        [answer] = fake_slack.wait_for(reply, timeout=ANSWER_WITHIN) or [None]
        assert answer is not None and time.monotonic() - sent <= ANSWER_WITHIN, "no answer within 3 s"
        assert "database is unavailable" in answer.params["text"] and "nothing was saved" in answer.params["text"]

        assert posted_at_cut < CLIENTS // 10, "the cut came after delivery had finished"
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))  # the outage itself lasts 20 s
        proxy.restore()
        back_at = time.monotonic()

        def every_nudge_out() -> bool:
            with database.sessions() as session:
                sent = session.scalar(select(func.count()).where(Nudge.status == "sent"))
            return sent == CLIENTS

        while not every_nudge_out():
            assert time.monotonic() - back_at < BOUND_AFTER_RETURN, \
                "due nudges still not out 3 minutes after the database returned"
            assert process.poll() is None, "rapport serve died"
            time.sleep(0.5)

        with database.sessions() as session:
            ids = sorted(session.scalars(select(Nudge.id)))
            held = session.scalar(select(func.count()).where(Nudge.claimed_by.is_not(None), Nudge.status == "sending"))
        assert len(ids) == CLIENTS and held == 0
        assert sorted(fake_slack.posted_nudge_ids()) == ids, "every nudge posted exactly once"

        again = f"response/{uuid.uuid4().hex[:8]}"
        assert signed_command(base, "log client 001 call from : after the outage", f"{fake_slack.url}/{again}") == 200
        [answer] = fake_slack.wait_for(again, timeout=10)
        assert "unavailable" not in answer.params["text"]
        with database.sessions() as session:
            notes = list(session.scalars(select(Interaction.note)))
        assert notes == ["after the outage"], "only the command after the outage was saved"
        assert _descendants(process.pid) == family, "no process was restarted"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
        proxy.close()
        print((tmp_path / "serve.log").read_text()[-5000:])


def test_a_command_that_meets_a_lost_connection_is_told_nothing_was_saved(rapport, monkeypatch):
    rapport.command("add Acme Corp")

    def database_gone(*_args, **_kwargs):
        raise OperationalError("BEGIN", {}, ConnectionResetError("server closed the connection unexpectedly"))

    monkeypatch.setattr(commands, "run_client_command", database_gone)
    answer = rapport.command("log acme corp call from").text.strip()
    assert answer == "The database is unavailable right now, so nothing was saved. Please try again in a minute."
