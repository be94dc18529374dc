"""People (PRODUCT.md §4.13): contacts with roles through signed commands, `log … with`, and advocate first at its
edges with injected `now`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.people.advocate import heads_up_due, needs_heads_up, shift_workdays
from bot.people.roles import parse_contacts_cell
from storage.models import Client, Contact, Interaction, Nudge
from tests.conftest import buttons
from tests.test_sweep import posts, run_sweep, words

WORKDAYS = frozenset(range(5))
UTC_ZONE = ZoneInfo("UTC")
THU, FRI, MON, TUE = (datetime(2026, 12, d, tzinfo=UTC) for d in (3, 4, 7, 8))


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def contacts(rapport, client: str = "Acme Corp") -> list[tuple[str, str, str | None]]:
    with rapport.database.sessions() as session:
        found = session.scalars(select(Contact).join(Client).where(Client.name == client).order_by(Contact.id))
        return [(c.name, c.role, c.slack_user_id) for c in found]


# --- advocate first, as pure functions of state and now ----------------------------------------------------


def test_the_look_back_is_two_business_days_across_a_weekend():
    sponsor_call = at(MON, 10)
    assert shift_workdays(sponsor_call, -2, WORKDAYS, UTC_ZONE) == at(THU, 10)
    assert not needs_heads_up(sponsor_call, at(THU, 10), WORKDAYS, UTC_ZONE)  # heard on Thursday 10:00: in time
    assert needs_heads_up(sponsor_call, at(THU, 9, 59), WORKDAYS, UTC_ZONE)
    assert needs_heads_up(sponsor_call, None, WORKDAYS, UTC_ZONE)


def test_the_heads_up_is_due_one_business_day_later_not_on_the_weekend():
    assert heads_up_due(at(FRI, 15), WORKDAYS, UTC_ZONE) == at(MON, 15)
    assert heads_up_due(at(THU, 15), WORKDAYS, UTC_ZONE) == at(FRI, 15)
    saturday = datetime(2026, 12, 5, 11, tzinfo=UTC)  # counts from Monday's start: due by the end of Monday
    assert heads_up_due(saturday, WORKDAYS, UTC_ZONE) == at(TUE, 0)
    london = ZoneInfo("Europe/London")  # same local time where the workspace is
    assert heads_up_due(at(FRI, 15), WORKDAYS, london) == at(MON, 15)


def test_the_csv_cell_reads_names_and_roles():
    assert parse_contacts_cell("Jane Doe (primary); Sam Lee (sponsor); Kim") == [
        ("Jane Doe", "primary"), ("Sam Lee", "sponsor"), ("Kim", "other")]


# --- the contact command -------------------------------------------------------------------------------------


def test_contacts_with_roles_one_primary_demoting_the_old(rapport):
    rapport.command("add Acme Corp contact Jane Doe")
    assert contacts(rapport) == [("Jane Doe", "primary", None)]
    reply = rapport.command("contact acme Sam Lee sponsor").text
    assert "Added Sam Lee, sponsor at Acme Corp" in reply
    reply = rapport.command("contact acme Kim Park advocate").text
    assert "Kim Park, primary contact (advocate)" in reply and "Jane Doe was the primary contact; now a contact" in reply
    assert contacts(rapport) == [("Jane Doe", "other", None), ("Sam Lee", "sponsor", None),
                                 ("Kim Park", "primary", None)]
    status = rapport.command("status acme").text
    assert "Primary contact: Kim Park" in status and "Sam Lee (sponsor)" in status
    # the same name again changes its role, case-insensitively
    assert "Updated Jane Doe" in rapport.command("contact acme jane doe sponsor").text
    assert contacts(rapport)[0] == ("Jane Doe", "sponsor", None)


def test_bad_contact_input_is_refused_and_writes_nothing(rapport):
    rapport.command("add Acme Corp contact Jane Doe")
    rapport.command("contact acme Sam Lee sponsor")
    before = contacts(rapport)
    unknown = rapport.command("contact Globex Jane Doe").text
    assert "Globex" in unknown and "/client contact <client> <name>" in unknown
    long = rapport.command("contact acme " + "x" * 101).text
    assert "101 characters; the limit is 100" in long
    refused = rapport.command("contact acme Jane Doe remove").text
    assert "Jane Doe is Acme Corp's primary contact" in refused and "Name another primary first" in refused
    assert "no contact named 'Nobody'" in rapport.command("contact acme Nobody remove").text
    assert "one role" in rapport.command("contact acme Kim sponsor other").text
    assert "mention them" in rapport.command("contact acme Kim sponsor @kim").text
    assert contacts(rapport) == before
    # the only primary goes once it is no longer the primary
    rapport.command("contact acme Sam Lee primary")
    assert "Removed Jane Doe" in rapport.command("contact acme Jane Doe remove").text
    assert contacts(rapport) == [("Sam Lee", "primary", None)]


def test_a_contact_is_tied_only_to_a_person_slack_knows(rapport):
    rapport.fake.users.update({"UJANE": {"tz": "UTC", "team_id": "TACME"},
                               "UBOTTY": {"tz": "UTC", "team_id": "TACME", "is_bot": True}})
    rapport.command("add Acme Corp")
    assert "is a bot, not a person" in rapport.command("contact acme Robo <@UBOTTY|robo>").text
    assert "Slack doesn't know" in rapport.command("contact acme Ghost <@UGHOST|ghost>").text
    assert contacts(rapport) == []
    reply = rapport.command("contact acme Jane Doe primary <@UJANE|jane>").text
    assert "Tied to @UJANE" in reply
    assert contacts(rapport) == [("Jane Doe", "primary", "UJANE")]


# --- log … with, and the heads-up ----------------------------------------------------------------------------


def _acme(rapport) -> None:
    rapport.command("add Acme Corp contact Jane Doe")
    rapport.command("contact acme Sam Lee sponsor")


def test_log_with_records_who_the_touch_was_with(rapport):
    _acme(rapport)
    rapport.clock.now = at(MON, 10)
    reply = rapport.command("log acme call with jane : renewals")
    assert "Logged call (two-way) with Jane Doe at Acme Corp" in reply.text and not buttons(reply)
    wrong = rapport.command("log acme call with Jne Doe").text
    assert "no contact named 'Jne Doe'" in wrong and "Did you mean Jane Doe?" in wrong
    with rapport.database.sessions() as session:
        touches = list(session.scalars(select(Interaction).order_by(Interaction.id)))
        named = {c.id: c.name for c in session.scalars(select(Contact))}
    assert [named.get(t.contact_id) for t in touches] == ["Jane Doe"]


def test_a_sponsor_touch_behind_the_advocates_back_gets_a_heads_up_then_a_card(rapport):
    _acme(rapport)
    rapport.clock.now = at(THU, 9, 30)
    rapport.command("log acme email to with Jane Doe")  # Thursday 09:30: more than 2 business days before Monday 10:00
    rapport.clock.now = at(MON, 10)
    reply = rapport.command("log acme meeting with Sam Lee")
    assert "Jane Doe, your advocate at Acme Corp, hasn't heard from you in the last 2 business days" in reply.text
    assert "Hi Jane, a quick heads-up: I spoke with Sam Lee at Acme Corp" in reply.text
    assert [b["text"]["text"] for b in buttons(reply)] == ["Gave a heads-up"]
    # Monday 17:00: within the business day, no card; Tuesday 10:00, a card about it in the first lane
    run_sweep(rapport, at(MON, 16))
    assert not [m for m in posts(rapport) if "heads-up" in words(m)]
    run_sweep(rapport, at(TUE, 10))
    cards = [words(m) for m in posts(rapport) if "hasn't heard from you since" in words(m)]
    assert len(cards) == 1 and "You spoke with Sam Lee (a sponsor) at Acme Corp" in cards[0]
    assert "Gave a heads-up" in str(posts(rapport)[-1]["blocks"])


def test_the_heads_up_button_logs_a_touch_with_the_advocate_and_no_card_follows(rapport):
    _acme(rapport)
    rapport.clock.now = at(FRI, 15)
    reply = rapport.command("log acme call with sam")
    rapport.clock.now = at(FRI, 15, 5)
    clicked = rapport.click(buttons(reply)[0])
    assert "gave Jane Doe at Acme Corp a heads-up" in clicked.text
    assert "Already handled by @UANA: gave Jane Doe a heads-up" in rapport.click(buttons(reply)[0]).text
    run_sweep(rapport, at(MON, 16))
    with rapport.database.sessions() as session:
        assert not list(session.scalars(select(Nudge).where(Nudge.kind == "heads_up")))


def test_an_advocate_touch_within_the_business_day_closes_it_across_the_weekend(rapport):
    _acme(rapport)
    rapport.clock.now = at(FRI, 15)
    assert buttons(rapport.command("log acme call with Sam Lee"))
    rapport.clock.now = at(MON, 11)
    assert not buttons(rapport.command("log acme call from with Jane Doe"))  # she called us: they spoke
    run_sweep(rapport, at(MON, 16))
    with rapport.database.sessions() as session:
        assert not list(session.scalars(select(Nudge).where(Nudge.kind == "heads_up")))


def test_no_heads_up_when_the_advocate_heard_from_us_lately_or_for_other_contacts(rapport):
    _acme(rapport)
    rapport.command("contact acme Kim other")
    rapport.clock.now = at(THU, 10)
    rapport.command("log acme call with Jane Doe")
    rapport.clock.now = at(MON, 10)
    assert not buttons(rapport.command("log acme call with Sam Lee"))  # Thursday 10:00 is within 2 business days
    rapport.clock.now = at(TUE, 15)
    assert not buttons(rapport.command("log acme call with Kim"))  # not a sponsor
