"""Hostile input through the real paths (signed /client requests, the Log a touch modal, `rapport import`): each
gets one clear answer and writes nothing, and an import keeps its good rows (PRODUCT.md §3, §7)."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select, text

from bot.when import parse_future_day, parse_period, parse_when
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Client, Commitment, Contact
from storage.names import name_key, normalize_name
from tests import test_storage
from tests.cli import run
from tests.conftest import MONDAY
from tests.helpers import client_named, counts
from tests.test_fuzz import _rows
from tests.test_interactive import _submit

ZWSP, RLO, LRI, PDI, BOM = "\u200b", "\u202e", "\u2066", "\u2069", "\ufeff"


def _names(database) -> list[str]:
    with database.sessions() as session:
        return sorted(session.scalars(select(Client.name)))


@pytest.mark.parametrize("name", [ZWSP, ZWSP * 5 + BOM, f"{RLO}{LRI}{PDI}", "\u2060\u200d\u200c", "\u3164",
                                  "\u2800", "\u0301\u0301"])  # a braille blank; accents on nothing
def test_a_name_of_invisible_characters_is_refused(rapport, name):
    before = _rows(rapport.database)
    reply = rapport.command(f'add "{name}"')
    assert "no visible characters" in reply.text
    assert _rows(rapport.database) == before


@pytest.mark.parametrize("twin", [f"Acme{ZWSP}Corp", f"{RLO}AcmeCorp", f"Acme{BOM}Corp\u2060", "ＡｃｍｅＣｏｒｐ",
                                  f"AcmeCorp{LRI}{PDI}"])
def test_a_name_that_only_looks_different_is_the_same_client(rapport, twin):
    rapport.command("add AcmeCorp")
    before = _rows(rapport.database)
    reply = rapport.command(f'add "{twin}"')
    assert "There is already a client called AcmeCorp" in reply.text
    assert _rows(rapport.database) == before
    assert "AcmeCorp" in rapport.command(f'status "{twin}"').text  # found by it, too


def test_invisible_and_compatibility_characters_never_reach_the_database(rapport):
    rapport.command(f"add {RLO}Evil{ZWSP} Ｃorp contact Jane{ZWSP} Doe{RLO}")
    assert _names(rapport.database) == ["Evil Corp"]
    with rapport.database.sessions() as session:
        client = session.scalars(select(Client)).one()
        assert client.name_key == "evil corp"
        assert session.scalars(select(Contact.name)).all() == ["Jane Doe"]
    assert "Evil Corp" in rapport.command("status evil corp").text


def test_rename_and_referral_normalise_names_and_refuse_invisible_ones(rapport):
    rapport.command("add AcmeCorp")
    rapport.command("add Beta Ltd")
    before = _rows(rapport.database)
    assert "There is already a client called AcmeCorp" in rapport.command(f"rename beta ltd to Acme{ZWSP}Corp").text
    assert "no visible characters" in rapport.command(f'rename beta ltd to "{ZWSP}{RLO}"').text
    assert "no visible characters" in rapport.command(f'referral acmecorp -> "{BOM}{ZWSP}"').text
    assert _rows(rapport.database) == before
    rapport.command(f"referral acmecorp -> Beta{ZWSP} Ltd")  # the existing client, not a look-alike prospect
    assert counts(rapport.database)[0] == 2 and counts(rapport.database)[2] == 1
    rapport.command(f"rename beta ltd to {RLO}Gamma{ZWSP}Ltd")
    assert _names(rapport.database) == ["AcmeCorp", "GammaLtd"]


def test_a_contact_name_of_invisible_characters_is_refused(rapport):
    reply = rapport.command(f"add Acme Corp contact {ZWSP}{RLO}")
    assert "no visible characters" in reply.text
    assert counts(rapport.database) == (0, 0, 0)


def test_the_modal_typeahead_and_promises_match_through_invisible_characters(rapport):
    rapport.command("add AcmeCorp")
    reply = rapport.interact({"type": "block_suggestion", "action_id": "client", "block_id": "client",
                              "value": f"acme{ZWSP}c", "view": {"id": "V1", "callback_id": "log_touch"}})
    assert [o["text"]["text"] for o in reply.json()["options"]] == ["AcmeCorp"]
    rapport.command(f"promise acmecorp send the{ZWSP} contract by friday")
    with rapport.database.sessions() as session:
        assert session.scalars(select(Commitment.what)).all() == ["send the contract"]
    rapport.command(f"kept acmecorp send the contract{BOM}")
    with rapport.database.sessions() as session:
        assert session.scalars(select(Commitment.done_at)).one() is not None


@pytest.mark.parametrize("picked", ["²", "9" * 30, "١"])
def test_a_forged_client_id_in_the_modal_is_refused_on_the_field(rapport, picked):
    """'²' passes str.isdigit() but not int(); thirty digits overflow a database integer."""
    rapport.command("add Acme Corp")
    view = {"callback_id": "log_touch", "private_metadata": "{}", "blocks": [
        {"block_id": "client", "element": {"initial_option": {"value": picked}}}]}
    reply = _submit(rapport, view).json()
    assert reply["response_action"] == "errors" and "Pick a client" in reply["errors"]["client"]
    assert counts(rapport.database) == (1, 0, 0)


def test_a_400_digit_value_gets_a_clear_answer_and_changes_nothing(rapport):
    rapport.command("add Acme Corp")
    rapport.command("value acme corp 250k")
    reply = rapport.command("value acme corp " + "9" * 400)
    assert "too long for an amount" in reply.text and "Sorry" not in reply.text
    assert "more than a trillion" in rapport.command("value acme corp 1" + "0" * 13).text
    assert client_named(rapport.database, "Acme Corp").value == 250_000


@pytest.mark.parametrize("text", ["2024-02-29garbage", "x" * 100_000, "3d ago" + "!" * 100])
def test_dates_and_periods_with_anything_trailing_are_refused(rapport, text):
    rapport.command("add Acme Corp")
    before = _rows(rapport.database)
    reply = rapport.command(f"log acme corp call {text}")
    assert reply.text and len(reply.text) < 2000 and "Sorry" not in reply.text
    assert _rows(rapport.database) == before
    for parse in (lambda t: parse_when(t, MONDAY, MONDAY.tzinfo), parse_period,
                  lambda t: parse_future_day(t, MONDAY, MONDAY.tzinfo)):
        with pytest.raises(ValueError) as refused:
            parse(text)
        assert len(str(refused.value)) < 200  # a hostile value is not echoed back whole


# rapport import, as a person runs it: good rows land, each bad one is named by its line

def _import(tmp_path, text: str):
    (tmp_path / "clients.csv").write_text(text, encoding="utf-8")
    return run(["import", "clients.csv", "--team", "T0TEAM"], tmp_path)


def _imported(tmp_path) -> list[str]:
    exported = run(["export", "--team", "T0TEAM"], tmp_path)
    assert exported.returncode == 0, exported.stderr
    return sorted(row["name"] for row in csv.DictReader(exported.stdout.splitlines()))


def test_import_refuses_a_400_digit_value_on_its_row_only(tmp_path):
    result = _import(tmp_path, "name,owner,value\nAcme Corp,U0ANA,250k\nHuge Ltd,U0ANA," + "9" * 400
                     + "\nBeta Ltd,U0ANA,1.2m\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "line 3: rejected: value: That is 400 characters, too long for an amount" in result.stdout
    assert "2 added, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert _imported(tmp_path) == ["Acme Corp", "Beta Ltd"]


def test_import_refuses_trailing_garbage_in_a_date_and_invisible_names_row_by_row(tmp_path):
    result = _import(tmp_path, "name,owner,last_contact\n"
                               "Acme Corp,U0ANA,2024-02-29\n"
                               "Beta Ltd,U0ANA,2024-02-29garbage\n"
                               f"{ZWSP}{RLO},U0ANA,\n"
                               f"Acme{ZWSP} Corp,U0BEN,\n"
                               "Gamma,U0ANA,2024-03-01T10:30:00\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "line 3: rejected: last_contact '2024-02-29garbage' is not a date" in result.stdout
    assert "line 4: rejected: name has no visible characters" in result.stdout
    assert "line 5: rejected: 'Acme\\u200b Corp' appears earlier in the file" in result.stdout
    assert "2 added, 0 updated, 0 unchanged, 3 rejected" in result.stdout
    assert _imported(tmp_path) == ["Acme Corp", "Gamma"]


def test_import_of_a_cell_over_the_csv_field_limit_says_which_line_and_writes_nothing(tmp_path):
    limit = csv.field_size_limit()
    result = _import(tmp_path, "name,owner\nAcme Corp,U0ANA\nBeta Ltd,U0ANA\nHuge," + "x" * (limit + 1)
                     + "\nGamma,U0ANA\n")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "_csv.Error" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"rapport import: line 4: a cell is longer than {limit:,} characters (often a quote that is never "
        "closed); nothing was imported"]
    assert _imported(tmp_path) == []


def test_import_refuses_a_file_naming_a_column_twice(tmp_path):
    result = _import(tmp_path, "name,owner,Name\nAcme Corp,U0ANA,Evil Corp\n")
    assert result.returncode == 2
    assert result.stderr.strip() == ("rapport import: column 'name' appears twice in the first line (columns 1 and "
                                     "3): which one holds the name?")
    assert _imported(tmp_path) == []


def test_seed_demo_stores_names_as_typed_names_are_stored(tmp_path):
    assert run(["seed-demo", "--clients", "30", "--per-client", "1", "--team", "T0TEAM"], tmp_path).returncode == 0
    names = _imported(tmp_path)
    assert len(names) == 30 and all(normalize_name(n) == n for n in names)


def test_names_are_nfkc_with_format_characters_and_bidi_controls_removed():
    assert normalize_name(f" {RLO}Ｅｖｉｌ\u00a0Corp{ZWSP}\t") == "Evil Corp"
    assert normalize_name("ﬁne Foods") == "fine Foods"
    assert normalize_name("e\u200b\u0301") == "\u00e9"  # recomposed once the invisible character is gone
    assert normalize_name("\ud800Acme") == "Acme"  # a lone surrogate (JSON allows one) cannot be stored
    assert name_key(f"ACME{ZWSP} corp") == name_key("acme corp") == "acme corp"
    assert json.dumps(normalize_name("Zoë 😀 Ltd")) == json.dumps("Zoë 😀 Ltd")  # visible text is untouched


# --- names stored before normalisation (migration 0014) --------------------------------------------------------

unmigrated_url = test_storage.empty_database_url  # an empty database, SQLite and PostgreSQL


def test_names_stored_before_normalisation_are_found_by_what_people_type_after_migrating(unmigrated_url):
    upgrade(unmigrated_url, "0013")
    engine = make_engine(unmigrated_url)
    add = text("INSERT INTO clients (workspace_id, name, name_key, owner_id, created_at, created_by) "
               "VALUES (1, :name, :key, 'U1', CURRENT_TIMESTAMP, 'U1')")
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO workspaces (enterprise_id, team_id, created_at) "
                              "VALUES ('', 'T1', CURRENT_TIMESTAMP)"))
            for name in ("Ａｃｍｅ Corp", "Beta\u200bWorks", "BetaWorks", "Gamma\u202eLtd"):
                conn.execute(add, {"name": name, "key": name.lower()})  # as stored before issue 20
        upgrade(unmigrated_url)
        with engine.begin() as conn:
            rows = dict(conn.execute(text("SELECT name, name_key FROM clients ORDER BY id")).all())
    finally:
        engine.dispose()
    assert rows["Acme Corp"] == "acme corp" and rows["GammaLtd"] == "gammaltd"
    # two clients that now spell the same: the one whose new spelling is taken keeps its old one, for a person
    # to rename or forget
    assert rows["BetaWorks"] == "betaworks" and rows["Beta\u200bWorks"] == "beta\u200bworks"


def test_a_blank_glyph_between_words_is_a_space(rapport):
    rapport.command("add Acme Corp")
    before = _rows(rapport.database)
    assert "There is already a client called Acme Corp" in rapport.command('add "Acme\u2800Corp"').text
    assert _rows(rapport.database) == before
