"""People (PRODUCT.md §4.13): contacts with roles through signed commands, `log … with`, and advocate first at its
edges with injected `now`, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.bulk.csv_io import export_rows, import_rows, read_csv
from bot.nudges.ranking import LANE_RANKED, LANE_URGENT, Candidate, Reason, Workweek, rank
from bot.people.advocate import heads_up_due, needs_heads_up, shift_workdays
from bot.people.roles import ContactWords, parse_contacts_cell, read_contact_words
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Client, Contact, Interaction, Nudge
from storage.workspaces import get_or_create_workspace
from tests import test_storage
from tests.conftest import buttons, sign
from tests.helpers import client_named
from tests.test_capture import SHARED, _setup, _shortcut, message
from tests.test_home import _open_home
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


def test_a_heads_up_owed_goes_in_the_first_lane_on_its_first_workday_ahead_of_a_richer_quiet_client():
    week = Workweek(UTC_ZONE, WORKDAYS)
    now = at(TUE, 10)
    heads_up = Candidate(1, 1000, (Reason("heads_up", at(MON, 15), at(TUE, 9)),))
    quiet = Candidate(2, 100_000, (Reason("quiet", at(TUE, 9), at(TUE, 9)),))
    ranked = sorted((rank(c, 1000, now, week) for c in (quiet, heads_up)), key=lambda r: r.order())
    assert [(r.candidate.client_id, r.lane) for r in ranked] == [(1, LANE_URGENT), (2, LANE_RANKED)]
    assert rank(heads_up, 1000, at(datetime(2026, 12, 9, tzinfo=UTC), 10), week).lane == LANE_RANKED  # a day on


def test_the_contact_words_read_a_name_role_user_or_removal():
    assert read_contact_words("Jane Doe sponsor <@U1|jane>") == ContactWords("Jane Doe", "sponsor", "<@U1|jane>")
    assert read_contact_words("Jane Doe <@U1|jane> advocate") == ContactWords("Jane Doe", "primary", "<@U1|jane>")
    assert read_contact_words("Bob Other remove") == ContactWords("Bob Other", remove=True)
    assert read_contact_words('"Bob Other" sponsor') == ContactWords("Bob Other", "sponsor")
    assert read_contact_words("Kim") == ContactWords("Kim")


def test_the_csv_cell_reads_names_and_roles():
    assert parse_contacts_cell("Jane Doe (primary); Sam Lee (sponsor); Kim") == [
        ("Jane Doe", "primary", None), ("Sam Lee", "sponsor", None), ("Kim", "other", None)]


# --- the contact command -------------------------------------------------------------------------------------


def test_contacts_with_roles_one_primary_demoting_the_old(rapport):
    rapport.command("add Acme Corp contact Jane Doe")
    assert contacts(rapport) == [("Jane Doe", "primary", None)]
    reply = rapport.command("contact acme Sam Lee sponsor").text
    assert "Added Sam Lee, sponsor at Acme Corp" in reply
    reply = rapport.command("contact acme Kim Park advocate").text
    assert "Kim Park, primary contact (advocate)" in reply
    assert "Jane Doe was the primary contact; now a contact" in reply
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
    assert [b["text"]["text"] for b in buttons(reply)] == ["Mark heads-up given"]
    # Monday 17:00: within the business day, no card; Tuesday 10:00, a card about it in the first lane
    run_sweep(rapport, at(MON, 16))
    assert not [m for m in posts(rapport) if "heads-up" in words(m)]
    run_sweep(rapport, at(TUE, 10))
    cards = [words(m) for m in posts(rapport) if "hasn't heard from you since" in words(m)]
    assert len(cards) == 1 and "You spoke with Sam Lee (a sponsor) at Acme Corp" in cards[0]
    assert "Mark heads-up given" in str(posts(rapport)[-1]["blocks"])


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


# --- Slack: who spoke, and the advocate leaving ----------------------------------------------------------------

# Slack's documented example (docs.slack.dev/reference/events/member_left_channel), verbatim but for the trailing
# comma after is_enterprise_install, which is not JSON.
SLACK_EXAMPLE = """{
"token": "XXYYZZ",
"team_id": "T123ABC456",
"api_app_id": "A123ABC456",
"event": {
"type": "member_left_channel",
"user": "W123ABC456",
"channel": "C123ABC456",
"channel_type": "C",
"team": "T123ABC456"
},
"type": "event_callback",
"authorizations": [
{
"team_id": "T123ABC456",
"user_id": "W123ABC456",
"is_bot": false,
"is_enterprise_install": false
}
],
"event_id": "Ev123ABC456",
"event_time": 123456789
}"""


def _signed_event(rapport, raw: str) -> None:
    reply = rapport.post(raw, {**sign(raw), "Content-Type": "application/json"})
    assert reply.status == 200, reply.body


def test_slacks_example_leave_event_for_a_workspace_nobody_installed_changes_nothing(capturing):
    _signed_event(capturing, SLACK_EXAMPLE)
    with capturing.database.sessions() as session:
        assert not list(session.scalars(select(Interaction)))


def test_a_captured_message_from_a_contacts_slack_user_is_with_them(capturing):
    rapport = capturing
    _setup(rapport)  # Acme Corp, #acme-shared linked and shared; UJANE is in the client's workspace
    rapport.command("contact acme Jane Doe primary <@UJANE|jane>")
    message(rapport, "UJANE", at(MON, 10))
    with rapport.database.sessions() as session:
        touch = session.scalars(select(Interaction).where(Interaction.source == "slack")).one()
        jane = session.scalars(select(Contact)).one()
        client = session.scalars(select(Client)).one()
    assert touch.contact_id == jane.id and touch.direction == "in"
    assert client.last_primary_contact_at == at(MON, 10)  # the advocate-silence rule sees her


def test_the_advocate_leaving_a_linked_channel_is_a_warning_sign_that_day(capturing):
    rapport = capturing
    _setup(rapport)
    rapport.command("contact acme Jane Doe primary <@UJANE|jane>")
    rapport.clock.now = at(TUE, 11)

    def left(user: str, event_id: str) -> None:
        body = json.loads(SLACK_EXAMPLE)
        body.update({"team_id": "T1", "event_id": event_id,
                     "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True,
                                         "is_enterprise_install": False}]})
        body["event"].update({"user": user, "channel": SHARED, "team": "TACME"})
        _signed_event(rapport, json.dumps(body))

    left("UKIM", "Ev1")  # not a contact: nothing
    left("UJANE", "Ev2")
    left("UJANE", "Ev3")  # again the same day: one sign
    with rapport.database.sessions() as session:
        signs = list(session.scalars(select(Interaction).where(Interaction.kind == "left")))
    assert [(s.occurred_at, s.channel_id, s.direction) for s in signs] == [(at(TUE, 11), SHARED, None)]
    status = rapport.command("status acme").text
    assert f"Jane Doe left #{SHARED}" in status and "a warning sign" in status
    assert "Warning signs in the last 30 days: 1" in status
    assert "Last heard from them: " not in status  # leaving is no contact from them
    # in health and the at-risk rule: with one more sign the client is at risk
    rapport.command("log acme complaint")
    assert "Warning signs in the last 30 days: 2." in rapport.command("status acme").text
    run_sweep(rapport, at(TUE, 12))
    risk = [words(m) for m in posts(rapport) if "warning signs in 30 days" in words(m)]
    assert risk and "their advocate left your shared channel" in risk[0]


# --- migration 0017: every primary contact is kept -------------------------------------------------------------

unmigrated_url = test_storage.empty_database_url  # an empty database, SQLite and PostgreSQL


def test_migrating_keeps_every_primary_contact_as_the_primary(unmigrated_url):
    upgrade(unmigrated_url, "0015")
    engine = make_engine(unmigrated_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (enterprise_id, team_id, created_at) "
                              "VALUES ('', 'T1', CURRENT_TIMESTAMP)"))
            for name in ("Acme Corp", "Globex"):
                conn.execute(text("INSERT INTO clients (workspace_id, name, name_key, owner_id, created_at, "
                                  "created_by) VALUES (1, :name, :key, 'U1', CURRENT_TIMESTAMP, 'U1')"),
                             {"name": name, "key": name.lower()})
            add = text("INSERT INTO contacts (workspace_id, client_id, name, is_primary, created_at) "
                       "VALUES (1, :client, :name, :primary, CURRENT_TIMESTAMP)")
            for client, name, primary in ((1, "Jane Doe", True), (2, "Sam Lee", True), (2, "Kim Park", False),
                                          (2, "kim  park", False)):
                conn.execute(add, {"client": client, "name": name, "primary": primary})
            conn.execute(text("INSERT INTO interactions (workspace_id, client_id, kind, direction, occurred_at, "
                              "logged_by, created_at, contact_id) VALUES (1, 1, 'call', 'in', CURRENT_TIMESTAMP, "
                              "'U1', CURRENT_TIMESTAMP, 1)"))
        upgrade(unmigrated_url)
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT client_id, name, name_key, role, is_primary FROM contacts "
                                     "ORDER BY id")).all()
            touched_with = conn.execute(text("SELECT contact_id FROM interactions")).scalars().all()
        with engine.begin() as conn, pytest.raises(IntegrityError):  # the database refuses a second primary
            conn.execute(text("UPDATE contacts SET is_primary = true, role = 'primary' WHERE name = 'Kim Park'"))
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "Jane Doe", "jane doe", "primary", True), (2, "Sam Lee", "sam lee", "primary", True),
        (2, "Kim Park", "kim park", "other", False), (2, "kim  park (4)", "kim park (4)", "other", False)]
    assert touched_with == [1]  # rebuilding the table (SQLite) keeps who each touch was with


# --- CSV: the contacts column, a round trip --------------------------------------------------------------------


def test_contacts_round_trip_through_csv(database):
    now = at(MON, 10)

    def load(text_in: str):
        with database.sessions.begin() as session:
            workspace = get_or_create_workspace(session, "T1", None, now)
            return import_rows(session, workspace, read_csv(io.StringIO(text_in)), default_owner="U0ANA",
                               tz=UTC_ZONE, now=now)

    report = load('name,contacts\nAcme Corp,Jane Doe (primary); Sam Lee (sponsor); Kim\n'
                  'Beta Ltd,A (primary); B (primary)\nGamma,"' + "x" * 101 + ' (sponsor)"\n')
    assert report.added == ["Acme Corp"]
    assert [r[1] for r in report.rejected] == ["contacts: Only one contact can be primary.",
                                               "contacts: a name must have 1 to 100 visible characters"]
    out = io.StringIO()
    with database.sessions() as session:
        workspace = get_or_create_workspace(session, "T1", None, now)
        export_rows(session, workspace, out, UTC_ZONE, now)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert exported[0]["contacts"] == "Jane Doe (primary); Sam Lee (sponsor); Kim (other)"
    again = load(out.getvalue())  # the export imports as the same contacts
    assert again.unchanged == ["Acme Corp"]
    assert load("name,contacts\nAcme Corp,Sam Lee (primary)\n").updated == ["Acme Corp"]  # a new primary demotes
    with database.sessions() as session:
        roles = {c.name: c.role for c in session.scalars(select(Contact))}
    assert roles == {"Jane Doe": "other", "Sam Lee": "primary", "Kim": "other"}


# --- the log form's With picker --------------------------------------------------------------------------------


def test_the_log_forms_with_picker_offers_the_clients_people_and_records_who(rapport):
    _acme(rapport)
    rapport.command("add Globex contact Hank Scorpio")
    acme = client_named(rapport.database, "Acme Corp")
    state = {"values": {"client": {"client": {"type": "external_select", "selected_option": {"value": str(acme.id)}}}}}
    reply = rapport.interact({"type": "block_suggestion", "action_id": "with", "block_id": "with", "value": "",
                              "view": {"id": "V1", "callback_id": "log_touch", "state": state}})
    options = reply.json()["options"]
    assert [o["text"]["text"] for o in options] == ["Jane Doe (primary)", "Sam Lee (sponsor)"]
    assert rapport.interact({"type": "block_suggestion", "action_id": "with", "block_id": "with", "value": "s",
                             "view": {"id": "V1", "callback_id": "log_touch"}}).json()["options"] == []  # no client yet
    rapport.clock.now = at(MON, 10)
    rapport.command("", answered=False)
    [opened] = rapport.fake.wait_for("views.open")
    view = opened.params["view"] if isinstance(opened.params["view"], dict) else json.loads(opened.params["view"])
    assert any(b["block_id"] == "with" for b in view["blocks"])
    globex = client_named(rapport.database, "Globex")
    hank = next(c for c in _all_contacts(rapport) if c.name == "Hank Scorpio")
    refused = _submit_with(rapport, view, acme.id, str(hank.id)).json()
    assert refused["response_action"] == "errors" and "Acme Corp's people" in refused["errors"]["with"]
    sam = options[1]["value"]
    assert _submit_with(rapport, view, acme.id, sam).body == ""
    with rapport.database.sessions() as session:
        touch = session.scalars(select(Interaction).where(Interaction.client_id == acme.id)).one()
        client = session.get(Client, acme.id)
    assert str(touch.contact_id) == sam and globex is not None
    assert client.heads_up_since == touch.occurred_at  # a sponsor touch: the advocate is owed a heads-up


def _all_contacts(rapport) -> list[Contact]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Contact)))


def _submit_with(rapport, view, client_id: int, contact_value: str):
    values = {
        "client": {"client": {"type": "external_select", "selected_option": {"value": str(client_id)}}},
        "with": {"with": {"type": "external_select", "selected_option": {"value": contact_value}}},
        "kind": {"kind": {"type": "static_select", "selected_option": {"value": "meeting"}}},
        "direction": {"direction": {"type": "static_select", "selected_option": {"value": "both"}}},
        "date": {"date": {"type": "datepicker", "selected_date": "2026-12-07"}},
        "note": {"note": {"type": "plain_text_input", "value": None}},
    }
    return rapport.interact({"type": "view_submission", "trigger_id": "t", "view": {
        "id": "V1", "type": "modal", "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
        "state": {"values": values}}})


def test_app_home_shows_the_advocate_and_a_heads_up_owed(rapport):
    _acme(rapport)
    rapport.clock.now = at(MON, 10)
    rapport.command("log acme call with Sam Lee")
    text = json.dumps(_open_home(rapport))
    assert "Jane Doe is owed a heads-up" in text and "advocate " in text and "Jane Doe" in text


def test_log_to_rapport_on_a_contacts_message_starts_with_them(capturing):
    rapport = capturing
    _setup(rapport)
    rapport.command("contact acme Jane Doe primary <@UJANE|jane>")
    view = _shortcut(rapport, SHARED, "UJANE", "TACME")
    with_ = next(b for b in view["blocks"] if b["block_id"] == "with")["element"]
    assert with_["initial_option"]["text"]["text"] == "Jane Doe (primary)"


def test_naming_a_new_primary_moves_whose_silence_is_watched(rapport):
    _acme(rapport)
    rapport.clock.now = at(MON, 10)
    rapport.command("log acme call from with Sam Lee")
    assert client_named(rapport.database, "Acme Corp").last_primary_contact_at is None  # Jane has been silent
    rapport.command("contact acme Sam Lee primary")
    assert client_named(rapport.database, "Acme Corp").last_primary_contact_at == at(MON, 10)


def test_a_sponsor_named_in_the_note_counts_as_with_them(rapport):
    _acme(rapport)
    rapport.clock.now = at(MON, 10)
    reply = rapport.command("log acme meeting : Sam Lee walked us through next year's budget")
    assert [b["text"]["text"] for b in buttons(reply)] == ["Mark heads-up given"]


def test_a_contacts_name_is_shown_literally_and_pings_nobody(rapport):
    rapport.command("add Acme Corp")
    reply = rapport.command("contact acme <!channel> *Boss* <https://evil.example|click> sponsor")
    assert "<!channel>" not in reply.body and "<https://evil.example" not in reply.body
    assert contacts(rapport) == [("@channel *Boss* click (https://evil.example)", "sponsor", None)]
    status = rapport.command("status acme")
    assert "<!channel>" not in status.body and "Sponsors: @channel *Boss*" in status.text
