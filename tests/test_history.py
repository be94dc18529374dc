"""History recorded before a client was added counts (PRODUCT.md §6): every agency starts by logging or importing
its past. Health on a past day, the six-month trend, the referral channel's "Deep for 60 days" and the rules that
look back read the history as recorded, whenever it was recorded; the card says from when Rapport has history.
Through signed commands and sweeps, on SQLite and PostgreSQL.

On the code before issue 30 the first test read "Health by month: — → — → — → — → — → Deep" and planned no
referral card, the second said the client had been tracked 0 days with nothing from them, and the third froze no
review for a client added on the 1st with a month of history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Client, Nudge, ReviewMonth
from tests.helpers import client_named
from tests.test_sweep import run_sweep

DAY = timedelta(days=1)
NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)  # the fixture's Monday


def _line(card: str, start: str) -> str:
    return next(line for line in card.splitlines() if line.startswith(start))


def _log_lumen_studios_past(rapport) -> None:
    """The issue's client: added today, its last five and a half months logged after the fact."""
    rapport.clock.now = NOW
    assert rapport.command("add Lumen Studio").json()["text"] == "Added Lumen Studio."
    for kind, ago in (("help", 165), ("acted", 150), ("strategic", 135)):
        assert "Logged" in rapport.command(f"log Lumen Studio {kind} {ago}d ago").text
    for ago in range(160, 0, -15):
        assert "Logged" in rapport.command(f"log Lumen Studio call from {ago}d ago").text
    assert "Logged" in rapport.command("log Lumen Studio praise today").text


def test_a_past_logged_after_the_client_was_added_has_a_trend_and_earns_the_referral_card(rapport):
    _log_lumen_studios_past(rapport)
    card = rapport.command("status lumen studio").text
    trend = _line(card, "Health by month (Jun–Nov): ")
    assert trend.endswith("Steady → Deep → Deep → Deep → Deep → Deep"), trend  # June: two signals so far
    assert _line(card, "Contacts from them by month (Jun–Nov): ").endswith("4 3 2 2 2 2")
    first = (NOW - 165 * DAY).date()
    assert f"History since {first.isoformat()} (added {NOW.date().isoformat()})." in card

    # Deep now and 60 days ago, a praise today, nothing open: the referral channel's card (§4.14)
    report = run_sweep(rapport, NOW + timedelta(minutes=5))
    assert report.planned.planned.get("referable") == 1
    with rapport.database.sessions() as session:
        [card_row] = session.scalars(select(Nudge).where(Nudge.kind == "referable")).all()
    assert card_row.client_id == client_named(rapport.database, "Lumen Studio").id

    # a past month's review reads the same history
    review = rapport.command("review lumen studio 2026-10").text
    assert "Six months: — → Steady → Deep → Deep → Deep → Deep" in review  # May: before any history


def test_a_client_we_never_heard_from_is_silent_since_its_history_begins(rapport):
    rapport.command("add Nova Ltd")
    for ago in (100, 60, 20):
        rapport.command(f"log nova ltd email to {ago}d ago")
    card = rapport.command("status nova ltd").text
    assert "quiet now, 100 days" in card and "silent 100 days (quiet after 30)" in card
    assert "Health: At risk" in card
    # the gone-quiet rule reads the same silence: due at once, not 30 days after the client was added
    assert run_sweep(rapport, NOW + timedelta(minutes=5)).planned.planned.get("quiet") == 1
    # a history that starts when the client was added says so
    rapport.command("add Fresh Co")
    assert f"History since {NOW.date().isoformat()}, when it was added." in rapport.command("status fresh co").text


def test_a_client_added_after_the_month_ended_with_history_in_it_is_frozen_with_it(rapport):
    rapport.clock.now = datetime(2026, 12, 1, 8, tzinfo=UTC)  # the 1st, before the month-end sweep
    rapport.command("add Late Entry")
    rapport.command("log late entry meeting 2026-11-10")
    run_sweep(rapport, datetime(2026, 12, 1, 10, tzinfo=UTC))
    with rapport.database.sessions() as session:
        client = session.scalars(select(Client).where(Client.name == "Late Entry")).one()
        frozen = session.scalars(select(ReviewMonth).where(ReviewMonth.client_id == client.id)).one()
    figures = json.loads(frozen.figures)
    assert frozen.month == "2026-11" and figures["contact"]["in"] == 1 and figures["health"]["label"] is not None
