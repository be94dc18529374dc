"""Every /client subcommand through signed HTTP requests against the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import buttons
from tests.helpers import client_named, counts, interactions_of


def test_add_then_status_shows_what_was_set(rapport):
    reply = rapport.command("add Acme Corp every 2w owner <@UBEN|ben> channel <#CACME|acme> contact Jane Doe")
    assert "Added Acme Corp" in reply.text
    status = rapport.command("status acme corp").text
    assert "Acme Corp" in status and "@UBEN" in status and "#CACME" in status
    assert "Jane Doe" in status
    assert "every 2 weeks" in status and "2026-11-30" in status  # Monday 16th + 2 weeks
    assert "none logged yet" in status
    client = client_named(rapport.database, "acme corp")
    assert client is not None and client.owner_id == "UBEN" and client.status == "active"


def test_add_defaults_owner_to_the_person_typing(rapport):
    rapport.command("add Beta Ltd")
    assert client_named(rapport.database, "Beta Ltd").owner_id == "UANA"


def test_names_are_unique_case_insensitively(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("add ACME   corp")
    assert "already a client called Acme Corp" in reply.text
    assert counts(rapport.database)[0] == 1


def test_quotes_allow_names_with_keywords(rapport):
    reply = rapport.command('add "Every Day Foods" every 7d')
    assert "Added Every Day Foods" in reply.text
    assert client_named(rapport.database, "Every Day Foods").checkin_count == 7
    unquoted = rapport.command("add Every Day Foods")
    assert "in quotes" in unquoted.text


def test_over_long_name_is_refused(rapport):
    reply = rapport.command("add " + "x" * 101)
    assert "limit is 100" in reply.text and "/client add <name>" in reply.text
    assert counts(rapport.database) == (0, 0, 0)


def test_help_lists_every_command(rapport):
    reply = rapport.command("help")
    assert "/client log <client> <kind>" in reply.text and "`forget`" in reply.text
    assert "`mail`" in reply.text and "`domain`" in reply.text
    assert reply.json()["response_type"] == "ephemeral"
    assert "/client forget <client>" in rapport.command("help forget").text


def test_unknown_subcommand_suggests_the_closest(rapport):
    reply = rapport.command("lgo Acme call")
    assert "Did you mean /client log?" in reply.text


def test_log_finds_the_longest_known_name(rapport):
    rapport.command("add Acme")
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call")
    assert [i.kind for i in interactions_of(rapport.database, "Acme Corp")] == ["call"]
    assert interactions_of(rapport.database, "Acme") == []


def test_log_accepts_a_unique_prefix(rapport):
    rapport.command("add Globex International")
    reply = rapport.command("log glob meeting from : they asked about renewals")
    assert "Logged meeting (from them) with Globex International" in reply.text
    [entry] = interactions_of(rapport.database, "Globex International")
    assert (entry.kind, entry.direction, entry.note) == ("meeting", "in", "they asked about renewals")


def test_ambiguous_prefix_lists_the_candidates_and_writes_nothing(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Acme Labs")
    reply = rapport.command("log acme call")
    assert "more than one client" in reply.text and "Acme Corp" in reply.text and "Acme Labs" in reply.text
    assert counts(rapport.database)[1] == 0


def test_misspelt_client_gets_a_suggestion(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("log acmy corp call")
    assert "Did you mean Acme Corp?" in reply.text
    assert counts(rapport.database)[1] == 0


def test_a_misspelt_name_is_suggested_even_when_a_shorter_prefix_would_match(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("log Acme Crop call")
    assert "No client matches 'Acme Crop'. Did you mean Acme Corp?" in reply.text
    rapport.command("add Acme")  # an exact shorter name does not win over the misspelt longer one either
    assert "Did you mean Acme Corp?" in rapport.command("log acme crop call").text
    assert counts(rapport.database)[1] == 0
    rapport.command("log acme call")  # a real kind after the shorter name is still that client
    assert [i.kind for i in interactions_of(rapport.database, "Acme")] == ["call"]
    rapport.command("add Acme Canal")  # ... even when it looks a little like a longer name
    rapport.command("log acme cancel")
    rapport.command("add Summit Health")
    rapport.command("add Summit Health 10")
    rapport.command("log summit health call")
    assert [i.kind for i in interactions_of(rapport.database, "Acme")] == ["call", "cancel"]
    assert [i.kind for i in interactions_of(rapport.database, "Summit Health")] == ["call"]


def test_direction_words_that_agree_with_the_kind_are_accepted(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("log Acme Corp help from 3d ago")
    assert "Logged asked us for help (from them) with Acme Corp" in reply.text
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction) == ("help", "in")
    for text, says in (("help to", "'help' is always from them; drop 'to'"),
                       ("checkin from", "'checkin' is always a two-way conversation; drop 'from'"),
                       ("note from : x", "'note' is an internal record with no direction; drop 'from'")):
        assert says in rapport.command(f"log acme corp {text}").text
    assert len(interactions_of(rapport.database, "Acme Corp")) == 1


def test_unknown_client_says_how_to_add_it(rapport):
    reply = rapport.command("status Nobody")
    assert "No client matches 'Nobody'" in reply.text and "/client add" in reply.text


def test_bad_kind_is_refused_with_the_list(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("log acme corp dinner")
    assert "'dinner' is not a kind I know" in reply.text and "complaint" in reply.text
    assert counts(rapport.database)[1] == 0


def test_future_and_impossible_dates_are_refused(rapport):
    rapport.command("add Acme Corp")
    future = rapport.command("log acme corp call 2026-12-01")
    impossible = rapport.command("log acme corp call 2026-02-30")
    assert "in the future" in future.text
    assert "not a real date" in impossible.text
    assert counts(rapport.database)[1] == 0


def test_dates_are_read_in_the_users_slack_timezone(rapport):
    # 03:00 UTC on Monday is still Sunday evening in Los Angeles, so "yesterday" is Saturday there.
    rapport.clock.now = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
    rapport.command("add Acme Corp", user="UBEN")
    rapport.command("log acme corp call yesterday", user="UBEN")
    rapport.command("log acme corp email 2026-11-10", user="UBEN")
    occurred = [i.occurred_at for i in interactions_of(rapport.database, "Acme Corp")]
    assert occurred == [datetime(2026, 11, 10, 20, 0, tzinfo=UTC), datetime(2026, 11, 14, 20, 0, tzinfo=UTC)]
    assert all(o.tzinfo is not None for o in occurred)
    # one users.info per person, not one per command
    assert len(rapport.fake.called("users.info")) == 1


def test_when_slack_cannot_say_the_timezone_the_workspace_one_is_used(rapport):
    rapport.fake.fail_next("users.info", "5xx", times=3)
    rapport.command("add Acme Corp", user="UBEN")
    reply = rapport.command("log acme corp call yesterday", user="UBEN")
    assert "Logged call" in reply.text
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert entry.occurred_at == datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def test_weekday_and_ago_forms(rapport):
    rapport.command("add Acme Corp", user="UADMIN")
    rapport.command("log acme corp visit friday", user="UADMIN")
    rapport.command("log acme corp call 2w ago", user="UADMIN")
    days = [i.occurred_at.date().isoformat() for i in interactions_of(rapport.database, "Acme Corp")]
    assert days == ["2026-11-02", "2026-11-13"]


def test_over_long_note_is_refused(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("log acme corp call : " + "n" * 2001)
    assert "limit is 2000" in reply.text
    assert counts(rapport.database)[1] == 0


def test_mentions_links_and_formatting_in_a_note_stay_inert(rapport):
    rapport.command("add Acme Corp")
    # what Slack sends for "@channel *urgent* <link>" with escaping on
    reply = rapport.command("log acme corp call : <!channel> *urgent* see <https://evil.example|this> &lt;b&gt;")
    assert "<!channel>" not in reply.body and "<https://" not in reply.body
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert entry.note == "@channel *urgent* see this (https://evil.example) <b>"
    status = rapport.command("status acme corp")
    assert "<!channel>" not in status.body
    mrkdwn = [e for b in status.json()["blocks"] for e in b.get("elements", []) if e.get("type") == "mrkdwn"]
    assert not any("urgent" in e["text"] for e in mrkdwn)


def test_names_with_ampersands_round_trip(rapport):
    rapport.command("add Smith &amp; Sons")
    reply = rapport.command("log smith &amp; sons call")
    assert "Smith & Sons" in reply.text


def test_directions_and_unanswered_outreach(rapport):
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from 10d ago")
    rapport.command("log acme corp email to 8d ago")
    rapport.command("log acme corp call to 5d ago")
    reply = rapport.command("log acme corp message to")
    assert "3 touches from us since they last replied" in reply.text
    status = rapport.command("status acme corp").text
    assert "Unanswered outreach: 3 since 2026-11-08" in status
    assert "Last heard from them: 2026-11-06" in status
    rapport.command("log acme corp email from")
    assert "Unanswered" not in rapport.command("status acme corp").text


def test_backdated_entries_land_in_order(rapport):
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from")
    rapport.command("log acme corp email to 3d ago")
    client = client_named(rapport.database, "Acme Corp")
    assert client.last_contact_direction == "in"
    assert client.unanswered_count == 0


def test_referral_creates_the_prospect_and_asks_for_thanks(rapport):
    rapport.command("add Acme Corp contact Jane Doe")
    reply = rapport.command("referral acme corp -&gt; Beta Ltd : met at the summit")
    assert "Thank Jane Doe at Acme Corp for introducing Beta Ltd" in reply.text
    assert "added them as a prospect" in reply.text
    assert "Hi Jane, thank you for introducing us to Beta Ltd" in reply.text
    assert client_named(rapport.database, "Beta Ltd").status == "prospect"
    assert "Thank them for introducing Beta Ltd" in rapport.command("status acme").text

    [mark] = buttons(reply)
    assert mark["text"]["text"] == "Mark thanked"
    done = rapport.click(mark)
    assert done["replace_original"] is True and "thanked Acme Corp" in done.text
    again = rapport.click(mark)
    assert "Already handled by @UANA: thanked Acme Corp for this one" in again.text
    assert "Thank them" not in rapport.command("status acme").text


def test_refer_alias_and_thanked_command(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Beta Ltd")
    reply = rapport.command("refer Acme Corp -> Beta Ltd")
    assert "added them as a prospect" not in reply.text
    assert "Marked Acme Corp as thanked" in rapport.command("thanked acme corp").json()["text"]
    assert "No referrals from Acme Corp are waiting" in rapport.command("thanked acme corp").text


def test_referral_errors_write_nothing(rapport):
    rapport.command("add Acme Corp")
    before = counts(rapport.database)
    assert "arrow" in rapport.command("referral Acme Corp Beta Ltd").text
    assert "No client matches" in rapport.command("referral Acne Inc -> Beta Ltd").text
    assert "can't refer themselves" in rapport.command("referral Acme Corp -> acme corp").text
    assert counts(rapport.database) == before


def test_checkin_rhythm_and_done(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("checkin acme corp every 1m")
    assert "every 1 month" in reply.text and "2026-12-16" in reply.text
    rapport.clock.now += timedelta(days=3)
    done = rapport.command("checkin acme corp done : happy, wants a roadmap session")
    assert "How they feel: happy, wants a roadmap session" in done.text and "2026-12-19" in done.text
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert (entry.kind, entry.direction) == ("checkin", "both")
    assert "every 0d" not in rapport.command("checkin acme corp every 0d").text
    assert "out of range" in rapport.command("checkin acme corp every 0d").text
    assert "every 2w" in rapport.command("checkin acme corp weekly").text


def test_list_filters(rapport):
    rapport.command("add Mine One")
    rapport.command("add Theirs Two owner <@UBEN|ben>")
    rapport.command("add Risky Three")
    rapport.command("log risky cancel 3d ago")
    rapport.command("log risky dispute")
    rapport.command("add Gone Four")
    rapport.command("end gone four : budget cut")
    rapport.command("log mine one call from")

    assert "No clients" not in rapport.command("list").text
    current = rapport.command("list").text
    assert "Mine One" in current and "Theirs Two" in current and "Gone Four" not in current
    mine = rapport.command("list mine").text
    assert "Mine One" in mine and "Theirs Two" not in mine
    risk = rapport.command("list at-risk").text
    assert "Risky Three" in risk and "Mine One" not in risk and "2 warning signs" in risk
    former = rapport.command("list former").text
    assert "Gone Four" in former and "Mine One" not in former
    assert "Gone Four" in rapport.command("list all").text
    assert "Nobody has gone quiet" in rapport.command("list quiet").text
    rapport.clock.now += timedelta(days=31)
    rapport.command("log theirs two call from")
    quiet = rapport.command("list quiet").text
    assert "Mine One" in quiet and "Theirs Two" not in quiet
    assert "I can list" in rapport.command("list everything").text


def test_a_check_in_in_the_past_reads_late_in_the_list_and_the_card(rapport):
    """`/client list` says a past check-in is late, as App Home does (issue 34); the card counts one day as one."""
    rapport.command("add Weekly every 1w")
    assert "Weekly · Shallow · @UANA · not heard from yet · check-in due 2026-11-23" in rapport.command("list").text
    rapport.clock.now += timedelta(days=8)
    assert "check-in late since 2026-11-23" in rapport.command("list").text
    assert "next due 2026-11-23, 1 day late." in rapport.command("status weekly").text
    rapport.clock.now += timedelta(days=1)
    assert "next due 2026-11-23, 2 days late." in rapport.command("status weekly").text


def test_snooze(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("snooze acme corp 2w")
    assert "until" in reply.text and "2026-11-30" in reply.text
    assert client_named(rapport.database, "Acme Corp").snoozed_until == datetime(2026, 11, 30, 15, tzinfo=UTC)
    assert "snoozed" in rapport.command("status acme corp").text.lower()
    assert "period" in rapport.command("snooze acme corp forever").text


def test_end_optout_reactivate(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("end acme corp : moved in-house")
    assert "former client" in reply.text and "90 days" in reply.text
    client = client_named(rapport.database, "Acme Corp")
    assert (client.status, client.end_reason, client.no_winback) == ("former", "moved in-house", False)
    assert "already a former client" in rapport.command("end acme corp").text
    assert "Former client since 2026-11-16: moved in-house" in rapport.command("status acme corp").text
    assert "opted out" in rapport.command("optout acme corp").text
    assert client_named(rapport.database, "Acme Corp").opted_out is True
    assert "active again" in rapport.command("reactivate acme corp").text
    assert client_named(rapport.database, "Acme Corp").status == "active"
    assert "already active" in rapport.command("reactivate acme corp").text
    rapport.command("add Beta Ltd")
    assert "No win-back" in rapport.command("end beta ltd no-winback").text
    assert client_named(rapport.database, "Beta Ltd").no_winback is True
    assert "only option is no-winback" in rapport.command("end acme corp forever").text


def test_owner_channel_rename(rapport):
    rapport.command("add Acme Corp")
    assert "now owns" in rapport.command("owner acme corp <@UBEN|ben>").text
    assert client_named(rapport.database, "Acme Corp").owner_id == "UBEN"
    assert "@mention" in rapport.command("owner acme corp ben").text
    assert "#CACME" in rapport.command("channel acme corp <#CACME|acme>").text
    assert client_named(rapport.database, "Acme Corp").channel_id == "CACME"
    assert "Slack's list" in rapport.command("channel acme corp acme").text
    default = rapport.command("channel default <#CNUDGES|nudges>", user="UADMIN")
    assert "#CNUDGES" in default.text
    rapport.command("add Beta Ltd")
    assert "already a client called Beta Ltd" in rapport.command("rename acme corp to beta ltd").text
    assert "Renamed Acme Corp to Acme Group" in rapport.command("rename acme corp to Acme Group").text
    assert client_named(rapport.database, "Acme Group") is not None
    assert "after 'to'" in rapport.command("rename acme group as Acme").text


def test_forget_asks_first_and_is_for_owner_or_admin(rapport):
    rapport.command("add Acme Corp", user="UANA")
    rapport.command("log acme corp call", user="UANA")
    refused = rapport.command("forget acme corp", user="UBEN")
    assert "Only Acme Corp's owner or a workspace admin" in refused.text
    ask = rapport.command("forget acme corp", user="UANA")
    assert "cannot be undone" in ask.text and "1 logged entry" in ask.text
    assert counts(rapport.database) == (1, 1, 0)
    forget, cancel = buttons(ask)
    assert forget["style"] == "danger" and "confirm" not in forget  # the reply asks; one question, not two
    assert "nothing was forgotten" in rapport.click(cancel).text
    assert counts(rapport.database) == (1, 1, 0)
    stolen = rapport.click(forget, user="UBEN")
    assert "Only Acme Corp's owner" in stolen.text and counts(rapport.database) == (1, 1, 0)
    done = rapport.click(forget, user="UANA")
    assert "Forgot Acme Corp" in done.text and counts(rapport.database) == (0, 0, 0)
    assert "Already handled by @UANA: forgot the client" in rapport.click(forget, user="UANA").text


def test_admin_may_forget_someone_elses_client(rapport):
    rapport.command("add Acme Corp", user="UANA")
    rapport.command("add Beta Ltd", user="UANA")
    rapport.command("referral acme corp -> beta ltd", user="UANA")
    [forget, _] = buttons(rapport.command("forget beta ltd", user="UADMIN"))
    rapport.click(forget, user="UADMIN")
    assert counts(rapport.database) == (1, 0, 0)


def test_a_crash_mid_command_apologises_and_writes_nothing(rapport, monkeypatch):
    import bot.commands.touches as touches

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    rapport.command("add Acme Corp")
    monkeypatch.setattr(touches, "thank_you_prompt", explode)
    reply = rapport.command("referral acme corp -> Brand New Co")
    assert "Sorry, something went wrong" in reply.text and "reference" in reply.text
    assert "boom" not in reply.body
    assert client_named(rapport.database, "Brand New Co") is None
    assert counts(rapport.database) == (1, 0, 0)


def test_the_first_things_logged_survive_a_restart(rapport, database_url):
    from bot.database import open_database
    from bot.settings import Settings

    rapport.command("add Acme Corp")
    rapport.command("log acme corp call")
    rapport.command("referral acme corp -> Beta Ltd")
    reopened = open_database(Settings(database_url=database_url))
    try:
        assert counts(reopened) == (2, 1, 1)
    finally:
        reopened.engine.dispose()


def test_a_slow_slack_does_not_hold_up_the_reply(rapport):
    rapport.command("add Acme Corp", user="UBEN")
    rapport.fake.fail_next("users.info", "timeout")
    reply = rapport.command("log acme corp call yesterday", user="UBEN")
    assert "Logged call" in reply.text
    [entry] = interactions_of(rapport.database, "Acme Corp")
    assert entry.occurred_at == datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # the workspace's UTC, not LA


def test_the_same_new_name_from_two_people_at_once_makes_one_client(rapport):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda u: rapport.command("add Racing Co", user=u), ["UANA", "UBEN", "UADMIN"] * 2))
    added = [r for r in replies if "Added Racing Co" in r.text]
    assert len(added) == 1
    assert all("already a client" in r.text or "same moment" in r.text for r in replies if r not in added)
    assert counts(rapport.database)[0] == 1


@pytest.mark.parametrize("sub", ["add", "referral", "refer", "thanked", "checkin", "status", "snooze", "end",
                                 "optout", "reactivate", "owner", "channel", "rename", "forget"])
def test_every_subcommand_without_arguments_shows_its_form(rapport, sub):
    reply = rapport.command(sub)
    first = reply.json()["blocks"][0]["elements"][0]["elements"][0]
    assert first == {"type": "emoji", "name": "warning"}
    usage_name = "referral" if sub == "refer" else sub
    assert f"/client {usage_name}" in reply.text
    assert counts(rapport.database) == (0, 0, 0)


def test_reading_commands_answer_while_another_command_holds_the_write_lock(rapport, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL readers never wait for writers")
    import sqlite3

    rapport.command("add Acme Corp")
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # a long write elsewhere
    try:
        assert "Acme Corp" in rapport.command("status acme corp").text
        assert "Acme Corp" in rapport.command("list").text
    finally:
        writer.execute("ROLLBACK")
        writer.close()
