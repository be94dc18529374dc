"""Nudges end to end: log through signed slash commands, sweep at a later instant, check what Slack got."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.nudges.sweep import delivery_client, sweep
from bot.settings import Settings
from storage.models import Nudge

DAY = timedelta(days=1)
MONDAY = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def run_sweep(rapport, at, *, dry_run=False, timeout=10, **overrides):
    """A sweep as the scheduler runs it; the weekly digest is off unless a test asks for it."""
    overrides.setdefault("digest", None)
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url=rapport.fake.api_url,
                        **overrides)
    return sweep(rapport.database, settings, delivery_client(settings, timeout=timeout), at, dry_run=dry_run)


def posts(rapport, channel=None):
    return [m for c, history in rapport.fake.messages.items() if channel in (None, c) for m in history]


def words(message):
    from tests.conftest import _words
    return _words({"blocks": message["blocks"]})


def nudges(rapport):
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Nudge).order_by(Nudge.id)))


def test_gone_quiet_is_nudged_once_after_the_threshold_with_reminders(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme> contact Jane Doe")
    rapport.command("log acme corp call from")
    assert run_sweep(rapport, MONDAY + 30 * DAY).planned.planned == {}
    report = run_sweep(rapport, MONDAY + 30 * DAY + timedelta(minutes=15))
    assert report.summary().endswith("planned 1 (quiet 1); 1 card for 1 person; posted 1 in 1 message")
    [post] = posts(rapport, "CACME")
    text = words(post)
    assert "Acme Corp has gone quiet: no word from them since 16 Nov, 30 days ago." in text
    assert "more than 30 days" not in text, "the threshold is not said back when it adds nothing"
    assert "call Jane Doe" in text and "@UANA" in text
    assert post["metadata"] == {"event_type": "rapport_nudge", "event_payload": {"nudge_ids": [nudges(rapport)[0].id]}}
    again = run_sweep(rapport, MONDAY + 30 * DAY + timedelta(minutes=15))
    assert again.summary().endswith("planned 0; posted 0 in 0 messages") and len(posts(rapport)) == 1
    assert run_sweep(rapport, MONDAY + 36 * DAY).planned.planned == {}
    run_sweep(rapport, MONDAY + 37 * DAY + timedelta(minutes=15))
    run_sweep(rapport, MONDAY + 44 * DAY + timedelta(minutes=30))
    run_sweep(rapport, MONDAY + 58 * DAY)
    texts = [words(p) for p in posts(rapport)]
    assert len(texts) == 3
    assert "reminder 1 of 2" in texts[1] and "reminder 2 of 2" in texts[2]
    rapport.clock.now = MONDAY + 60 * DAY
    rapport.command("log acme corp email from")
    assert run_sweep(rapport, MONDAY + 89 * DAY).planned.planned == {}
    assert run_sweep(rapport, MONDAY + 90 * DAY + timedelta(hours=1)).planned.planned == {"quiet": 1}


def test_status_and_list_show_open_nudges(rapport):
    rapport.command("add Acme Corp")
    run_sweep(rapport, MONDAY + 31 * DAY)
    rapport.clock.now = MONDAY + 31 * DAY
    assert "Open nudge: gone quiet" in rapport.command("status acme corp").text
    assert "Acme Corp" in rapport.command("list quiet").text


def test_routing_client_channel_then_default_then_owner_dm(rapport):
    rapport.command("add Own Room channel <#COWN|own>")
    rapport.command("add By Default")
    rapport.command("add By Dm", user="UBEN")
    run_sweep(rapport, MONDAY + 31 * DAY, nudge_channel="CSETTING")
    assert set(rapport.fake.messages) == {"COWN", "CSETTING"}
    rapport.command("channel default <#CTEAM|team>", user="UADMIN")
    rapport.command("add Later")
    run_sweep(rapport, MONDAY + 63 * DAY)  # a Monday: posting needs business hours
    assert "CTEAM" in rapport.fake.messages and "DBEN" not in rapport.fake.messages
    rapport.fake.messages.clear()
    rapport.command("add Nowhere")
    with rapport.database.sessions.begin() as session:
        from storage.models import Workspace
        session.execute(Workspace.__table__.update().values(default_channel_id=None))
    run_sweep(rapport, MONDAY + 93 * DAY)
    assert "DANA" in rapport.fake.messages and rapport.fake.called("conversations.open")


def test_nudges_wait_for_business_hours(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    saturday = datetime(2026, 12, 19, 10, tzinfo=UTC)
    report = run_sweep(rapport, saturday)
    assert report.summary().endswith("planned 1 (quiet 1); outside business hours, posting waits")
    assert posts(rapport) == []
    monday_early = datetime(2026, 12, 21, 8, 59, tzinfo=UTC)
    assert run_sweep(rapport, monday_early).delivery is None
    assert run_sweep(rapport, monday_early + timedelta(minutes=1)).delivery.posted == 1
    london = run_sweep(rapport, datetime(2026, 12, 21, 16, 30, tzinfo=UTC), timezone="Asia/Tokyo")
    assert london.delivery is None  # 01:30 on Tuesday in Tokyo


def test_unanswered_outreach_suggests_a_call(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("log acme corp call from 20d ago")
    rapport.command("log acme corp email to 6d ago")
    rapport.command("log acme corp email to 3d ago")
    rapport.command("log acme corp message to")
    assert run_sweep(rapport, MONDAY).planned.planned == {}
    report = run_sweep(rapport, MONDAY + DAY)
    assert report.planned.planned == {"unanswered": 1}
    text = words(posts(rapport)[0])
    assert "Acme Corp hasn't replied to 2 emails and 1 message from you since 10 Nov." in text
    assert "pick up the phone" in text
    assert posts(rapport)[0]["text"] == ("Acme Corp: no reply to 2 emails and 1 message since 10 Nov. Call them, or "
                                         "ask for a short meeting.")


def test_check_in_due_after_the_cadence(rapport):
    rapport.command("add Acme Corp every 1w channel <#CACME|acme>")
    assert run_sweep(rapport, MONDAY + 7 * DAY - timedelta(minutes=1)).planned.planned == {}
    assert run_sweep(rapport, MONDAY + 7 * DAY).planned.planned == {"checkin": 1}
    assert "How are you feeling about everything?" in words(posts(rapport)[0])
    rapport.clock.now = MONDAY + 8 * DAY
    rapport.command("checkin acme corp done : fine")
    # 1 December: the month's first sweep also freezes November and lists its review to the owner (§4.12)
    assert run_sweep(rapport, MONDAY + 15 * DAY).planned.planned == {"checkin": 1, "reviews": 1}


def test_referrers_are_nudged_at_two_and_seven_days_until_thanked(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("add Globex channel <#CGLOBEX|globex>")
    rapport.command("referral acme corp -> Beta Ltd")
    rapport.command("referral globex -> Gamma Inc")
    assert run_sweep(rapport, MONDAY + 2 * DAY - timedelta(minutes=1)).planned.planned == {}
    assert run_sweep(rapport, MONDAY + 2 * DAY).planned.planned == {"thank": 2}
    assert "introduced you to Beta Ltd" in words(posts(rapport, "CACME")[0])
    rapport.command("thanked globex")
    assert run_sweep(rapport, MONDAY + 7 * DAY).planned.planned == {"thank": 1}
    assert "still hasn't been thanked" in words(posts(rapport, "CACME")[1])
    assert run_sweep(rapport, MONDAY + 14 * DAY).planned.planned.get("thank") is None
    assert len(posts(rapport, "CGLOBEX")) == 1


def test_warning_signs_flag_a_client_at_risk(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("log acme corp cancel 10d ago")
    assert run_sweep(rapport, MONDAY).planned.planned == {}
    rapport.command("log acme corp dispute")
    assert run_sweep(rapport, MONDAY).planned.planned == {"at_risk": 1}
    text = words(posts(rapport)[0])
    assert "2 warning signs in 30 days: a fee dispute" in text and "a last-minute cancellation" in text
    rapport.command("log acme corp complaint")
    assert run_sweep(rapport, MONDAY + timedelta(hours=1)).planned.planned == {}  # the same episode


def test_the_advocate_going_quiet_is_called_out(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme> contact Jane Doe")
    rapport.command("log acme corp call from 40d ago : Jane walked us through the plan")
    rapport.command("log acme corp email from : Bob asked for the invoice")
    report = run_sweep(rapport, MONDAY)
    assert report.planned.planned == {"advocate": 1}
    text = words(posts(rapport)[0])
    assert "Jane Doe, your advocate at Acme Corp (their primary contact), has been quiet since" in text
    assert "40 days" in text


def test_snoozed_paused_and_former_clients_are_left_alone(rapport):
    rapport.command("add Snoozy channel <#CSNOOZE|s>")
    rapport.command("snooze snoozy 6w")
    rapport.command("add Gone")
    rapport.command("end gone")
    assert run_sweep(rapport, MONDAY + 31 * DAY).planned.planned == {}
    after = MONDAY + 6 * 7 * DAY + timedelta(hours=1)
    assert run_sweep(rapport, after).planned.planned == {"quiet": 1}
    assert len(posts(rapport, "CSNOOZE")) == 1


def test_a_snooze_after_planning_holds_the_nudge(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    saturday = datetime(2026, 12, 19, 10, tzinfo=UTC)
    run_sweep(rapport, saturday)
    rapport.clock.now = saturday
    rapport.command("snooze acme corp 1w")
    report = run_sweep(rapport, datetime(2026, 12, 21, 10, tzinfo=UTC))
    assert report.focus.cards == 0 and posts(rapport) == []
    assert run_sweep(rapport, datetime(2026, 12, 28, 10, tzinfo=UTC)).delivery.posted == 1


def test_a_nudge_that_no_longer_applies_is_not_posted(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    saturday = datetime(2026, 12, 19, 10, tzinfo=UTC)
    run_sweep(rapport, saturday)
    rapport.clock.now = saturday
    rapport.command("log acme corp call from")
    report = run_sweep(rapport, datetime(2026, 12, 21, 10, tzinfo=UTC))
    assert report.focus.dropped == 1 and posts(rapport) == []
    assert report.summary().endswith("posted 0 in 0 messages; 1 no longer applied")


def test_several_nudges_for_one_channel_share_messages_of_at_most_ten(rapport):
    rapport.fake.users.update({f"U{i}": {"tz": "UTC"} for i in range(3)})  # owners are people Slack knows
    for i in range(12):
        rapport.command(f"add Client {i:02d} channel <#CSHARED|shared> owner <@U{i % 3}|p{i % 3}>")
    report = run_sweep(rapport, MONDAY + 31 * DAY)
    assert (report.delivery.posted, report.delivery.messages) == (12, 2)
    ids = rapport.fake.posted_nudge_ids()
    assert sorted(ids) == [n.id for n in nudges(rapport)]
    first, _ = posts(rapport, "CSHARED")
    assert len(first["metadata"]["event_payload"]["nudge_ids"]) == 10
    assert first["text"].startswith("10 clients need attention:\n• Client")
    assert all(len(line) <= 122 for line in first["text"].splitlines()[1:]), "one clause per client"


def test_a_missing_channel_falls_back_to_the_owners_dm(rapport):
    rapport.fake.channel_errors["CGONE"] = "channel_not_found"
    rapport.command("add Acme Corp channel <#CGONE|gone>")
    report = run_sweep(rapport, MONDAY + 31 * DAY)
    assert report.delivery.fell_back == 1 and "DANA" in rapport.fake.messages
    [nudge] = nudges(rapport)
    assert (nudge.status, nudge.fallback_reason, nudge.channel_id) == ("sent", "channel_not_found", "DANA")


def test_rate_limits_are_waited_out(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "429", times=1, retry_after=1)
    report = run_sweep(rapport, MONDAY + 31 * DAY)
    assert report.delivery.posted == 1 and rapport.fake.posted_nudge_ids() == [nudges(rapport)[0].id]


def test_a_5xx_is_checked_against_history_before_resending(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "5xx")
    report = run_sweep(rapport, MONDAY + 31 * DAY)
    assert report.delivery.posted == 1
    assert len(rapport.fake.called("conversations.history")) == 1
    assert rapport.fake.posted_nudge_ids() == [nudges(rapport)[0].id]


def test_a_timeout_after_slack_recorded_the_post_is_not_posted_twice(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.hang_seconds = 3
    rapport.fake.fail_next("chat.postMessage", "timeout")
    report = run_sweep(rapport, MONDAY + 31 * DAY, timeout=1)
    assert report.delivery.reconciled == 1 and (report.delivery.posted, report.delivery.messages) == (0, 0)
    assert report.summary().endswith("posted 0 in 0 messages; 1 found already posted")
    assert rapport.fake.posted_nudge_ids() == [nudges(rapport)[0].id]
    assert len(rapport.fake.called("chat.postMessage")) == 1
    assert nudges(rapport)[0].status == "sent"


def test_when_slack_is_unreachable_nothing_is_lost(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url="http://127.0.0.1:9/api/",
                        digest=None)
    report = sweep(rapport.database, settings, delivery_client(settings), MONDAY + 31 * DAY)
    assert report.delivery.retrying == 1
    [nudge] = nudges(rapport)
    assert nudge.status == "pending" and nudge.next_attempt_at > MONDAY + 31 * DAY
    assert run_sweep(rapport, MONDAY + 31 * DAY + timedelta(hours=1)).delivery.posted == 1


def test_dry_run_posts_nothing_and_writes_nothing(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    report = run_sweep(rapport, MONDAY + 31 * DAY, dry_run=True)
    assert report.summary().endswith("dry run, would plan 1 (quiet 1); nothing written")
    assert nudges(rapport) == [] and posts(rapport) == []
    assert run_sweep(rapport, MONDAY + 31 * DAY).delivery.posted == 1


def test_facts_are_stored_with_the_nudge(rapport):
    rapport.command("add Acme Corp")
    run_sweep(rapport, MONDAY + 31 * DAY)
    facts = json.loads(nudges(rapport)[0].facts)
    assert facts["silent_days"] == 31 and facts["threshold"] == 30
