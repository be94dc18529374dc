"""The weekly digest: when, where, the same sections every week, Slack's limits, once per week."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.nudges.digest import SECTIONS
from tests.test_sweep import run_sweep, words

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC
DIGEST = (0, time(9))


def digests(rapport):
    return [m for history in rapport.fake.messages.values() for m in history
            if (m.get("text") or "").startswith("Weekly digest")]


def sweep(rapport, at, **settings):
    return run_sweep(rapport, at, digest=DIGEST, **settings)


def test_monday_nine_in_the_workspace_timezone_once_a_week(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    assert sweep(rapport, MONDAY_9 - timedelta(minutes=1)).planned.planned.get("digest") is None
    assert sweep(rapport, MONDAY_9).planned.planned["digest"] == 1
    assert sweep(rapport, MONDAY_9 + timedelta(hours=3)).planned.planned.get("digest") is None
    assert sweep(rapport, MONDAY_9 + timedelta(days=3)).planned.planned.get("digest") is None
    assert sweep(rapport, MONDAY_9 + timedelta(days=7)).planned.planned["digest"] == 1
    assert [m["channel"] for m in digests(rapport)] == ["CACME", "CACME"]
    # New York's Monday 09:00 is 14:00 UTC
    later = MONDAY_9 + timedelta(days=14)
    assert sweep(rapport, later, timezone="America/New_York").planned.planned.get("digest") is None
    assert sweep(rapport, later + timedelta(hours=5), timezone="America/New_York").planned.planned["digest"] == 1


def test_an_empty_workspace_gets_the_same_sections_with_zeros(rapport):
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    assert digest["channel"] == "CTEAM"
    text = words(digest)
    positions = [text.index(f"{title} (0)") for title in SECTIONS]
    assert positions == sorted(positions), "the sections come in the same order every week"
    assert text.count("None this week.") == len(SECTIONS)


def test_a_busy_workspace(rapport):
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.clock.now = MONDAY_9 - timedelta(days=40)
    rapport.command("add Quiet One")
    rapport.command("add Deep One")
    for kind in ("help", "acted", "strategic"):
        rapport.command(f"log deep one {kind}")
    rapport.command("add Risky One")
    rapport.command("add Former One")
    rapport.command("end former one")
    rapport.clock.now = MONDAY_9 - timedelta(days=20)
    rapport.command("log risky one cancel")
    rapport.command("log risky one complaint")
    rapport.command("log deep one call from")
    rapport.command("referral deep one -> Lead Co")
    rapport.command("add Weekly every 1w")
    rapport.command("log weekly email to 15d ago")
    rapport.command("log weekly email to 12d ago")
    rapport.command("log weekly email to")
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    text = words(digest)
    assert "Gone quiet (" in text and "Quiet One · silent 40 days" in text
    assert "Unanswered (1)" in text and "Weekly · 3 touches unanswered" in text
    assert "Check-ins due this week (1)" in text and "Referrers to thank (1)" in text
    assert "At risk (1)" in text and "Risky One" in text
    assert "Former clients due (0)" in text
    assert "Deepest relationships (1)" in text and "Deep One · Deep" in text
    assert "Risky One · At risk" in text


def test_hundreds_of_clients_stay_within_slacks_limits(rapport):
    from sqlalchemy import insert

    from storage.models import Client, Workspace

    with rapport.database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=MONDAY_9, default_channel_id="CTEAM")
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:03d}", "name_key": f"client {i:03d}",
             "owner_id": "UANA", "status": "active", "created_at": MONDAY_9 - timedelta(days=60),
             "created_by": "UANA", "quiet_nudges": 1} for i in range(300)])
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    assert len(digest["blocks"]) <= 50
    text = words(digest)
    assert "Gone quiet (300)" in text and "…and 290 more" in text
    assert len(digest["text"]) <= 3000


def test_a_client_in_the_digest_opens_its_card(rapport):
    import uuid

    from tests.conftest import _words

    rapport.command("add Acme Corp channel <#CACME|acme>")
    sweep(rapport, MONDAY_9 + timedelta(days=31))
    [digest] = digests(rapport)
    menu = next(e for b in digest["blocks"] if b["type"] == "actions" for e in b["elements"])
    path = f"response/{uuid.uuid4().hex[:8]}"
    rapport.interact({"type": "block_actions", "response_url": f"{rapport.fake.url}/{path}", "trigger_id": "t",
                      "container": {"type": "message"}, "actions": [
                          {"type": "static_select", "action_id": "digest_open", "block_id": "b", "action_ts": "1",
                           "selected_option": menu["options"][0]}]})
    [reply] = rapport.fake.wait_for(path)
    assert reply.params["response_type"] == "ephemeral" and "Acme Corp" in _words(reply.params)
