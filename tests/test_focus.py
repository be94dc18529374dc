"""Focus end to end (PRODUCT.md §4.8): signed commands, then sweeps on later workdays, then what Slack got."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from storage.models import Card, Client, Nudge
from tests.conftest import _words
from tests.helpers import client_named
from tests.test_home import _open_home, _press
from tests.test_interactive import _latest_update
from tests.test_interactive import _press as _press_in_message
from tests.test_sweep import posts, run_sweep, words

DAY = timedelta(days=1)
THURSDAY = datetime(2026, 12, 17, 10, tzinfo=UTC)  # 31 days after the fixture clock's Monday


def _posted(rapport) -> list[tuple[str, str, str]]:
    """(channel, client, owner) for every client carded in any message, in posting order."""
    with rapport.database.sessions() as session:
        about = {n.id: (c.name, c.owner_id) for n, c in session.execute(
            select(Nudge, Client).join(Client, Client.id == Nudge.client_id))}
    seen = []
    for channel, history in rapport.fake.messages.items():
        for message in history:
            ids = (message.get("metadata") or {}).get("event_payload", {}).get("nudge_ids", [])
            names = {about[i] for i in ids if i in about}
            seen += [(channel, name, owner) for name, owner in sorted(names)]
    return seen


def _cards(rapport) -> list[Card]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Card).order_by(Card.id)))


def test_each_person_gets_at_most_the_budget_a_day_across_channels_and_dms(rapport):
    for i in range(3):
        rapport.command(f"add Alpha {i} channel <#CA|a>")
        rapport.command(f"add Beta {i} channel <#CB|b>")
    rapport.command("add Direct 0")
    rapport.command("add Direct 1")
    rapport.command("value direct 0 500k")  # worth the most: it goes first, by DM
    rapport.command("value alpha 0 10k")  # worth the least: the unset rank as the median, 255,000
    rapport.command("add Bens Client owner <@UBEN|ben> channel <#CA|a>")
    report = run_sweep(rapport, THURSDAY)
    assert report.summary().endswith("planned 9 (quiet 9); 6 cards for 2 people, 3 clients waiting; "
                                     "posted 6 in 3 messages")
    shown = _posted(rapport)
    ana = [(channel, name) for channel, name, owner in shown if owner == "UANA"]
    assert len(ana) == 5 and {channel for channel, _ in ana} == {"CA", "CB", "DANA"}
    assert ("DANA", "Direct 0") in ana
    assert [name for _, name, owner in shown if owner == "UBEN"] == ["Bens Client"]

    again = run_sweep(rapport, THURSDAY + timedelta(hours=2))  # the same workday: nothing more for Ana
    assert again.delivery.posted == 0 and len(_posted(rapport)) == 6
    friday = run_sweep(rapport, THURSDAY + DAY)
    assert friday.delivery.posted == 3 and len({n for _, n, _ in _posted(rapport)}) == 9
    assert Counter(o for _, _, o in _posted(rapport)) == {"UANA": 8, "UBEN": 1}


def test_a_client_due_for_three_reasons_gets_one_card(rapport):
    rapport.command("add Acme Corp every 1w channel <#CACME|acme>")
    rapport.command("referral acme corp -> Beta Ltd")
    rapport.command("log acme corp cancel 3d ago")
    rapport.command("log acme corp dispute")
    run_sweep(rapport, rapport.clock.now + 8 * DAY)
    [message] = posts(rapport, "CACME")
    assert len(message["metadata"]["event_payload"]["nudge_ids"]) == 3
    assert [b["type"] for b in message["blocks"]] == ["rich_text", "context", "actions"]
    text = words(message)
    assert text.startswith(" Acme Corp shows 2 warning signs in 30 days"), "the worst reason leads"
    assert ("Also: a check-in is due (every week, there hasn't been one yet); Beta Ltd's introduction on 16 Nov not "
            "yet thanked.") in text
    assert text.count("Next:") == 1 and "Why it matters" not in text
    context = json.dumps(message["blocks"][1])
    assert "For <@UANA>" in context and "Why today" not in context  # nothing to add to the headline
    assert [e["text"]["text"] for e in message["blocks"][2]["elements"] if e["type"] == "button"] == [
        "Log a touch", "Record check-in", "Mark thanked", "View client", "Mark not relevant"]
    [card] = _cards(rapport)
    assert card.why == "Why today: 2+ warning signs"


def test_the_highest_value_goes_first_and_says_so(rapport):
    rapport.command("add Small Co channel <#CX|x>")
    rapport.command("add Big Co channel <#CX|x>")
    rapport.command("value small co 20k")
    rapport.command("value big co 1.2m")
    run_sweep(rapport, THURSDAY, daily_focus=1)
    [message] = posts(rapport, "CX")
    assert "Big Co" in words(message) and "Small Co" not in words(message)  # names only the client it nudges about
    assert "Why today: gone quiet, top 10% by value" in json.dumps(message["blocks"])


def test_nothing_waits_unseen_more_than_ten_workdays(rapport):
    """One card a day; a valuable new quiet client every morning; a low-value check-in still gets its turn."""
    rapport.command("add Small Co every 1w channel <#CX|x>")
    rapport.command("value small co 1k")
    day = rapport.clock.now + 8 * DAY  # Tuesday 24 November, 10:00: the check-in fell due at 15:00 the day before
    first_card = None
    for n in range(12):
        while day.weekday() >= 5:
            day += DAY
        rapport.clock.now = day.replace(hour=8)
        rapport.command(f"add Big {n} channel <#CX|x>")
        rapport.command(f"value big {n} 1m")
        rapport.command(f"log big {n} call from 40d ago")
        run_sweep(rapport, day.replace(hour=10), daily_focus=1)
        if first_card is None and any(name == "Small Co" for _, name, _ in _posted(rapport)):
            first_card = n
        day += DAY
    assert first_card == 8, "ranked below every new valuable client until it had waited 8 workdays"
    card = next(c for c in _cards(rapport) if c.client_id == client_named(rapport.database, "Small Co").id)
    assert card.why == "Why today: a check-in due, waited 8 workdays, the longest"


def test_not_relevant_closes_the_episode_and_asks_nothing_more(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    run_sweep(rapport, THURSDAY)
    rapport.clock.now = THURSDAY + timedelta(minutes=5)
    [message] = posts(rapport, "CACME")
    _press_in_message(rapport, message, "nudge_not_relevant")
    update = _latest_update(rapport)
    assert "<@UANA> marked it not relevant" in json.dumps(update["blocks"])
    assert not any(b["type"] == "actions" for b in update["blocks"])
    [card] = _cards(rapport)
    assert card.closed_action == "marked it not relevant"
    for week in range(1, 4):  # no quiet reminders for this spell
        assert run_sweep(rapport, THURSDAY + 7 * week * DAY).planned.planned == {}
    assert len(posts(rapport, "CACME")) == 1


def test_any_touch_logged_closes_the_clients_open_cards(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    run_sweep(rapport, THURSDAY)
    rapport.clock.now = THURSDAY + timedelta(hours=1)
    [message] = posts(rapport, "CACME")
    rapport.command("log acme corp call to : left a voicemail")
    update = _latest_update(rapport)
    assert update["channel"] == "CACME" and "<@UANA> logged a call" in json.dumps(update["blocks"])
    [card] = _cards(rapport)
    assert card.closed_at == rapport.clock.now and card.closed_action == "logged a call"
    stale = _press_in_message(rapport, message, "nudge_not_relevant", user="UBEN")
    assert "Already handled" in _words(rapport.fake.wait_for(stale)[0].params)


def test_the_first_day_of_a_backlog_says_how_many_are_waiting(rapport):
    for i in range(12):
        rapport.command(f"add Client {i:02d} channel <#CTEAM|team>")
    run_sweep(rapport, THURSDAY)
    [first] = posts(rapport, "CTEAM")
    text = json.dumps(first["blocks"])
    assert ("12 of your clients are due for attention. These 5 matter most today; the other 7 wait, ranked, in "
            "App Home (Needs attention), and Rapport brings up at most 5 a workday.") in text
    assert text.count(":inbox_tray:") == 1, "said once, on the day's first card"
    assert "Client 05" not in words(first) and "Client 11" not in words(first)  # waiting ones are only counted
    run_sweep(rapport, THURSDAY + DAY)
    second = posts(rapport, "CTEAM")[1]
    assert "2 more waiting, ranked, in App Home (Needs attention)." in json.dumps(second["blocks"])
    assert "due for attention" not in json.dumps(second["blocks"])
    run_sweep(rapport, THURSDAY + 4 * DAY)  # Monday: the last two, nothing more to say about a backlog
    assert ":inbox_tray:" not in json.dumps(posts(rapport, "CTEAM")[2]["blocks"])
    assert len(_posted(rapport)) == 12


def test_app_home_lists_every_waiting_client_ranked_with_not_relevant(rapport):
    for i in range(8):
        rapport.command(f"add Client {i:02d} channel <#CTEAM|team>")
    rapport.command("value client 07 900k")
    rapport.command("value client 06 10k")  # the unset rank as the median, 455,000: between the two
    run_sweep(rapport, THURSDAY, daily_focus=2)
    rapport.clock.now = THURSDAY + timedelta(hours=1)
    view = _open_home(rapport)
    text = json.dumps(view, ensure_ascii=False)
    assert "Needs attention (6)" in text and "Rapport brings up at most 5 a workday" in text
    entries = [b for b in view["blocks"] if b.get("block_id", "").startswith("attention-")]
    assert len(entries) == 6
    assert len(view["blocks"]) <= 100
    waiting = {_words(b) for b in view["blocks"] if b["type"] == "rich_text" and "→" in _words(b)}
    assert len(waiting) == 6 and all("due today" in w for w in waiting)
    assert all("nothing from them in 30 days → give them a call" in w for w in waiting), waiting
    assert not any("Client 07" in w for w in waiting)  # the most valuable was carded today
    first = entries[0]["elements"][3]
    assert first["action_id"] == "home_not_relevant" and first["confirm"]["confirm"]["text"] == "Mark not relevant"
    _press(rapport, "home_not_relevant", first["value"])
    republished = rapport.fake.wait_for("views.publish", count=2)[1].params["view"]
    republished = json.loads(republished) if isinstance(republished, str) else republished
    assert "Needs attention (5)" in json.dumps(republished)
    with rapport.database.sessions() as session:
        dropped = session.scalars(select(Nudge).where(Nudge.handled_action == "marked it not relevant")).all()
    assert len(dropped) == 1 and dropped[0].status == "dropped"


def test_the_digest_lists_who_waits_and_last_weeks_action_rate(rapport):
    rapport.clock.now = THURSDAY - 40 * DAY
    for i in range(12):
        rapport.command(f"add Client {i:02d} channel <#CTEAM|team>")
    tuesday = datetime(2026, 12, 15, 10, tzinfo=UTC)
    run_sweep(rapport, tuesday)
    carded = [name for _, name, _ in _posted(rapport)]
    assert len(carded) == 5
    rapport.clock.now = tuesday + DAY
    rapport.command(f"log {carded[0]} call")
    rapport.command(f"log {carded[1]} email from")
    monday = datetime(2026, 12, 21, 10, tzinfo=UTC)
    run_sweep(rapport, monday, digest=(0, time(9)))
    digest = next(m for m in posts(rapport, "CTEAM") if m["text"].startswith("Weekly digest"))
    text = _words({"blocks": digest["blocks"]})
    # of the 7 never carded, Monday's sweep cards 5 beside the digest (it is worked out after them): 2 wait
    assert "2 waiting their turn" in text and "10 gone quiet" in text
    assert "Last week 2 of the 5 clients Rapport brought up had a touch logged within 7 days (40%)." in \
        json.dumps(digest["blocks"])


def test_value_is_set_shown_and_refused_when_unreadable(rapport):
    rapport.command("add Acme Corp")
    rapport.command("add Globex")
    assert rapport.command("value acme corp $1.2m").text.startswith(
        "Acme Corp is worth 1,200,000 a year, top 10% by value.")
    assert client_named(rapport.database, "Acme Corp").value == 1_200_000
    assert "Value: 1,200,000 a year (top 10% by value)." in rapport.command("status acme corp").text
    assert "Value: not set (ranks as the median, 1,200,000)." in rapport.command("status globex").text
    refused = rapport.command("value acme corp lots")
    assert "I can't read 'lots' as an amount" in refused.text and "/client value <client> <amount>" in refused.text
    assert "I can't read '-5' as an amount" in rapport.command("value globex -5").text
    assert "more than a trillion" in rapport.command("value globex 5000000m").text
    assert client_named(rapport.database, "Globex").value is None
    rapport.command("value acme corp none")
    assert client_named(rapport.database, "Acme Corp").value is None
    assert "has no value set" in rapport.command("value acme corp").text


def test_a_late_promise_is_said_late_on_its_card(rapport):
    """'Why today' says what is true when the card goes out: a promise whose day has passed is late, not coming due
    (issue 34); the day before, it is coming due."""
    for name in ("Acme Corp", "Globex"):
        rapport.command(f"add {name} channel <#CX|x>")
    rapport.command("value globex 500k")  # the value makes the line say more than the headline: it is shown
    rapport.command("value acme corp 1k")
    rapport.command("promise acme corp send the deck by 2026-11-25")
    rapport.command("promise globex the audit by 2026-11-19")
    run_sweep(rapport, datetime(2026, 11, 24, 10, tzinfo=UTC))  # Globex's is late; Acme's is due tomorrow
    whys = {c.client_id: c.why for c in _cards(rapport)}
    acme, globex = (client_named(rapport.database, n).id for n in ("Acme Corp", "Globex"))
    assert whys[globex] == "Why today: a promise already late, top 10% by value"
    assert whys[acme] == "Why today: a promise coming due"
    [message] = posts(rapport, "CX")
    assert "Why today: a promise already late, top 10% by value" in json.dumps(message["blocks"])
