"""The weekly digest: when, where, the same sections every week, Slack's limits, once per week."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.nudges.digest import digest_message
from tests.snapshots import reading
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


SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one snapshot, not one per database


@SQLITE
def test_an_empty_week_is_one_block_of_zeros(rapport, blocks_snapshot, text_snapshot):
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    assert digest["channel"] == "CTEAM"
    assert digest["blocks"] == blocks_snapshot and reading(digest["text"], digest["blocks"]) == text_snapshot
    text = words(digest)
    assert text.startswith("Weekly digest · week of 23 Nov\n0 gone quiet · 0 with no reply · 0 check-ins due this "
                           "week · 0 referrers to thank · 0 with 2+ warning signs · 0 former clients due · 0 promises "
                           "due this week · 0 open issues · 0 waiting their turn\n")
    assert [b["type"] for b in digest["blocks"]] == ["header", "rich_text"], "no empty list, no empty line"
    assert "None this week" not in text and "Reviews shared" not in text and "0 of 0" not in text
    assert digest["text"] == "Weekly digest, week of 23 Nov: nothing due or owed."


def _busy_week(rapport):
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
    rapport.command("add Late Check every 1w")  # its check-in fell due on Thursday: late, said so
    rapport.clock.now = MONDAY_9 - timedelta(days=11)
    rapport.command("checkin late check done")
    rapport.command("add Next Week every 2w")  # due next Monday: not this week
    rapport.clock.now = MONDAY_9 - timedelta(days=7)
    rapport.command("checkin next week done")
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    return digest


@SQLITE
def test_a_busy_week_leads_with_the_worst_each_client_once(rapport, blocks_snapshot, text_snapshot):
    digest = _busy_week(rapport)
    assert digest["blocks"] == blocks_snapshot and reading(digest["text"], digest["blocks"]) == text_snapshot


def test_a_busy_workspace(rapport):
    digest = _busy_week(rapport)
    text = words(digest)
    counts = text.splitlines()[1]
    assert counts == ("2 gone quiet · 1 with no reply · 2 check-ins due this week · 1 referrer to thank · 1 with 2+ "
                      "warning signs · 0 former clients due · 0 promises due this week · 0 open issues · "
                      "0 waiting their turn"), counts  # all five carded beside it
    assert "Health of current clients: 1 deep · 2 steady · 3 shallow · 1 at risk" in text
    lists = text[text.index("2+ warning signs · most first"):]
    order = [lists.index(title) for title in ("2+ warning signs", "No reply", "Gone quiet", "Check-ins due",
                                              "Referrers to thank")]
    assert order == sorted(order), "the worst first"
    assert "Risky One · 2 warning signs in 30 days → ask for an honest conversation" in text
    # logged before Weekly was added, its three emails count from when they were sent (PRODUCT.md §6): quiet too
    assert ("Weekly · no reply to 3 attempts since 19 Oct (also gone quiet, a check-in due) → call, or ask for a short "
            "meeting") in text
    assert text.count("Weekly ·") == 1, "each client once in the lists, under its worst reason"
    assert "Quiet One · nothing from them in 40 days → give them a call" in text
    checkins = text[text.index("Check-ins due this week ·"):text.index("Referrers to thank ·")]
    assert "Late Check · late: due 19 Nov" in checkins and "Next Week" not in checkins, "this week is this week"
    assert "Deepest: Deep One (Deep)" in text and "Shallowest: Risky One (At risk)" in text


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
    assert "300 gone quiet" in text and "…and 295 more" in text
    assert len(digest["text"]) <= 3000


def test_a_client_in_the_digest_opens_its_card(rapport):
    import uuid

    from tests.conftest import _words

    rapport.command("add Acme Corp channel <#CACME|acme>")
    sweep(rapport, MONDAY_9 + timedelta(days=31))
    [digest] = digests(rapport)
    menu = next(e for b in digest["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert menu["placeholder"]["text"] == "View a client…"
    path = f"response/{uuid.uuid4().hex[:8]}"
    rapport.interact({"type": "block_actions", "response_url": f"{rapport.fake.url}/{path}", "trigger_id": "t",
                      "container": {"type": "message"}, "actions": [
                          {"type": "static_select", "action_id": "digest_open", "block_id": "b", "action_ts": "1",
                           "selected_option": menu["options"][0]}]})
    [reply] = rapport.fake.wait_for(path)
    assert reply.params["response_type"] == "ephemeral" and "Acme Corp" in _words(reply.params)


def test_a_digest_left_over_from_a_weekend_is_not_posted_beside_the_next_weeks(tmp_path):
    """Issue 35: planned on a Saturday, outside business hours, last week's digest used to wait for Monday and
    go out beside the new week's. A digest belongs to its week: once the next one is due it is dropped."""
    from tests.cli import iso, monday_after, run

    monday = monday_after(days=7)
    saturday = monday - timedelta(days=2)
    script = (f"/client channel default #nudges\nsweep --at {iso(saturday)}\nsweep --at {iso(monday)}\n"
              f"sweep --at {iso(monday + timedelta(hours=1))}\n")
    result = run(["shell"], tmp_path, script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"sweep at {saturday:%Y-%m-%dT%H:%M}+00:00: planned 1 (digest 1); outside business hours, posting " \
           "waits" in out
    assert (f"sweep at {monday:%Y-%m-%dT%H:%M}+00:00: planned 1 (digest 1); posted 1 in 1 message; "
            "1 digest of a past week dropped") in out
    assert out.count("Weekly digest · week of") == 1, out
    assert f"Weekly digest · week of {monday.day} {monday:%b}" in out
    assert f"sweep at {monday + timedelta(hours=1):%Y-%m-%dT%H:%M}+00:00: planned 0; posted 0 in 0 messages\n" in out


def test_a_weekends_digest_is_dropped_on_the_monday_even_when_business_hours_open_before_the_digest(tmp_path):
    """Found by a second reading of issue 35: with business hours opening before the digest time (08:00, digest
    09:00), last week's digest went out at 08:05 and the new week's at 09:05, two on one Monday. A week's digest is
    over from the start of the day the next one is due: dropped then, unposted."""
    from tests.cli import iso, monday_after, run

    monday = monday_after(days=7, hour=8) + timedelta(minutes=5)
    saturday = monday - timedelta(days=2)
    script = (f"/client channel default #nudges\nsweep --at {iso(saturday)}\nsweep --at {iso(monday)}\n"
              f"sweep --at {iso(monday + timedelta(hours=1))}\n")
    result = run(["shell"], tmp_path, script, RAPPORT_BUSINESS_HOURS="mon-fri 08:00-17:00")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"sweep at {saturday:%Y-%m-%dT%H:%M}+00:00: planned 1 (digest 1); outside business hours, posting " \
           "waits" in out
    assert f"sweep at {monday:%Y-%m-%dT%H:%M}+00:00: planned 0; posted 0 in 0 messages; 1 digest of a past week " \
           "dropped" in out, out
    assert (f"sweep at {monday + timedelta(hours=1):%Y-%m-%dT%H:%M}+00:00: planned 1 (digest 1); posted 1 in 1 "
            "message") in out, out
    assert out.count("Weekly digest · week of") == 1, out
    assert f"Weekly digest · week of {monday.day} {monday:%b}" in out


def test_a_digest_whose_post_went_unseen_is_looked_for_not_posted_once_its_week_is_over(rapport):
    """A digest whose outcome was unknown when its week ended: found in the channel, it was sent (in its week);
    not found, it is dropped, never posted late beside the next week's."""
    from tests.test_sweep import nudges

    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.fake.fail_next("chat.postMessage", "5xx-after")  # reached the channel; we never heard so
    rapport.fake.fail_next("conversations.history", "5xx")  # and looking for it could not tell
    sweep(rapport, MONDAY_9)
    rapport.fake.fail_next("chat.postMessage", "5xx")  # never reached it
    rapport.fake.fail_next("conversations.history", "5xx", times=2)  # nor could either look tell
    sweep(rapport, MONDAY_9 + timedelta(days=7))
    assert [n.status for n in nudges(rapport)] == ["unknown", "unknown"]
    report = sweep(rapport, MONDAY_9 + timedelta(days=14))
    by_week = {json.loads(n.facts)["week"]: n for n in nudges(rapport)}
    assert {week: n.status for week, n in by_week.items()} == {"2026-W48": "sent", "2026-W49": "dropped",
                                                                  "2026-W50": "sent"}
    assert by_week["2026-W48"].message_ts == digests(rapport)[0]["ts"]
    assert by_week["2026-W49"].message_ts is None \
        and by_week["2026-W49"].last_error == "its week is over: the next week's digest is due"
    assert [m["text"].split(":")[0] for m in digests(rapport)] == ["Weekly digest, week of 23 Nov",
                                                                  "Weekly digest, week of 7 Dec"]
    assert report.delivery.reconciled == 1 and report.delivery.superseded == 1


@pytest.mark.parametrize(("rate", "reviews", "channel", "said"), [
    ((1, 0), (0, 1), (0, 1), ["Last week the 1 client Rapport brought up had no touch logged within 7 days.",
                              "Last month's review was not shared with the client.",
                              "Referral channel: the 1 active client referred nobody in the last 12 months."]),
    ((1, 1), (1, 1), (1, 1), ["Last week the 1 client Rapport brought up had a touch logged within 7 days.",
                              "Last month's review was shared with the client.",
                              "Referral channel: the 1 active client referred someone in the last 12 months."]),
    ((5, 2), (1, 3), (1, 5), ["Last week 2 of the 5 clients Rapport brought up had a touch logged within 7 days (40%).",
                              "1 of last month's 3 reviews was shared with the client.",
                              "Referral channel: 1 of 5 active clients referred someone in the last 12 months (20%)."]),
    ((2, 0), (2, 2), (0, 2), ["Last week 0 of the 2 clients Rapport brought up had a touch logged within 7 days (0%).",
                              "2 of last month's 2 reviews were shared with the client.",
                              "Referral channel: 0 of 2 active clients referred someone in the last 12 months (0%)."]),
])
def test_the_closing_lines_say_one_client_as_one(rate, reviews, channel, said):
    """A digest's closing lines in a small workspace: never "the 1 clients" or "1 reviews were" (issue 34)."""
    _, blocks = digest_message({"week": "2026-W48", "counts": {}, "lists": [], "action_rate": rate,
                                "reviews_shared": reviews, "referral_channel": channel})
    notes = [e["text"] for block in blocks if block["type"] == "context" for e in block["elements"]]
    assert notes == said


def test_a_digest_never_lists_as_waiting_a_client_whose_card_it_is_posted_beside(rapport):
    """Found by a second reading of issue 34: the digest was worked out before the sweep chose today's cards, so a
    client carded in that very sweep was counted and listed as "waiting their turn" right above its card."""
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.clock.now = MONDAY_9 - timedelta(days=40)
    rapport.command("add Acme Corp")
    sweep(rapport, MONDAY_9)
    [digest] = digests(rapport)
    cards = [m for m in rapport.fake.messages.get("CTEAM", []) if m.get("blocks") and "nudge-" in json.dumps(m)]
    assert len(cards) == 1 and "Acme Corp" in words(cards[0]), "its card is posted in the same sweep"
    text = words(digest)
    assert "0 waiting their turn" in text.splitlines()[1]
    assert "Waiting their turn" not in text
