"""Delivery when Slack and people get in the way (PRODUCT.md §5): outcomes we cannot see are reconciled nudge by
nudge against the channel's history, a client forgotten while its card is in flight is simply skipped, and
under random schedules of such faults with several sweepers at once every due nudge lands exactly once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.database import Database
from bot.nudges import delivery
from bot.nudges.sweep import delivery_client, sweep
from bot.settings import Settings
from storage.erasure import delete_client
from storage.models import Client, Nudge
from tests.delivery_schedules import HISTORY_FATES, POST_FATES, Schedule, run
from tests.test_sweep import DAY, MONDAY, nudges, run_sweep, words

DUE = MONDAY + 31 * DAY
LATER = DUE + timedelta(hours=1)  # past any backoff the first pass set


def _client_id(database, name: str) -> int:
    with database.sessions() as session:
        return session.scalars(select(Client.id).where(Client.name == name)).one()


def _nudge_of(database, client_id: int) -> Nudge:
    with database.sessions() as session:
        return session.scalars(select(Nudge).where(Nudge.client_id == client_id)).one()


def test_an_unknown_outcome_counts_as_sent_only_for_the_nudges_whose_own_ids_are_in_the_channel(rapport):
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.command("add Globex channel <#CACME|acme>")
    # Both posts of the first pass fail with a 5xx before Slack records anything: both outcomes are unknown.
    rapport.fake.fail_next("chat.postMessage", "5xx", times=2)
    assert run_sweep(rapport, DUE).delivery.retrying == 2
    acme, globex = (_nudge_of(rapport.database, _client_id(rapport.database, n)) for n in ("Acme Corp", "Globex"))
    assert (acme.status, globex.status) == ("unknown", "unknown") and rapport.fake.messages == {}
    # Meanwhile a message carrying only Acme's nudge is in the channel (an earlier attempt that did land).
    rapport.fake.messages["CACME"] = [{"ts": "999.000100", "channel": "CACME", "text": "Acme Corp has gone quiet",
                                       "blocks": [], "metadata": {"event_type": "rapport_nudge",
                                                                  "event_payload": {"nudge_ids": [acme.id]}}}]

    report = run_sweep(rapport, LATER)

    carriers = rapport.fake.carriers()
    assert carriers[acme.id] == [("CACME", "999.000100")], "Acme's nudge is not posted again"
    assert len(carriers.get(globex.id, [])) == 1, "Globex's nudge, whose id no message carried, is posted"
    rows = {n.id: n for n in nudges(rapport)}
    assert (rows[acme.id].status, rows[acme.id].message_ts) == ("sent", "999.000100")
    assert (rows[globex.id].status, rows[globex.id].message_ts) == ("sent", carriers[globex.id][0][1])
    assert (report.delivery.reconciled, report.delivery.posted) == (1, 1)


def test_after_an_unknown_post_only_the_nudges_missing_from_the_channel_are_posted_again(rapport):
    for name in ("Acme Corp", "Globex", "Initech"):
        rapport.command(f"add {name} channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "5xx-after")  # Slack recorded the message, then answered 503
    report = run_sweep(rapport, DUE)
    [message] = rapport.fake.messages["CACME"]
    assert report.delivery.reconciled == 3 and len(rapport.fake.called("chat.postMessage")) == 1
    assert {(n.status, n.message_ts) for n in nudges(rapport)} == {("sent", message["ts"])}


def test_a_client_forgotten_while_its_card_is_in_flight_is_skipped_and_the_rest_is_recorded(rapport):
    for name in ("Acme Corp", "Globex", "Initech"):
        rapport.command(f"add {name} channel <#CACME|acme>")
    forgotten = _client_id(rapport.database, "Globex")

    def forget_globex(method: str, _params: dict) -> None:
        if method == "chat.postMessage":  # `/client forget globex`, confirmed while the card is being posted
            with rapport.database.sessions.begin() as session:
                client = session.get(Client, forgotten)
                if client is not None:
                    delete_client(session, client)

    rapport.fake.on_call = forget_globex
    rapport.fake.fail_next("chat.postMessage", "5xx-after")  # recorded, but we cannot know it…
    rapport.fake.fail_next("conversations.history", "5xx")  # …nor check it yet

    first = run_sweep(rapport, DUE)  # completes: no error on the vanished row

    rapport.fake.on_call = None
    [message] = rapport.fake.messages["CACME"]
    left = nudges(rapport)
    assert len(left) == 2 and all(n.client_id != forgotten for n in left)
    assert {n.status for n in left} == {"unknown"}, "nothing is left claimed until the lease runs out"
    assert first.delivery.retrying == 2
    second = run_sweep(rapport, LATER)
    assert second.delivery.reconciled == 2 and len(rapport.fake.messages["CACME"]) == 1
    assert {(n.status, n.message_ts) for n in nudges(rapport)} == {("sent", message["ts"])}



class FlakySessions:
    """A session factory whose database goes away on cue: once armed, each `begin()` meets the next fate in
    `fates`: "down" (the connection is refused), "lost-commit" (the work commits, then the connection drops
    before the answer, so the caller cannot know), or "ok"."""

    def __init__(self, sessions: sessionmaker[Session], fates: list[str]) -> None:
        self.sessions, self.fates, self.armed = sessions, fates, False

    def __call__(self, **kwargs: object) -> Session:
        return self.sessions(**kwargs)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        fate = self.fates.pop(0) if self.armed and self.fates else "ok"
        if fate == "down":
            raise OperationalError("connect", {}, ConnectionRefusedError("connection refused"))
        with self.sessions.begin() as session:
            yield session
        if fate == "lost-commit":
            raise OperationalError("COMMIT", {}, ConnectionResetError("server closed the connection"))


def _sweep_with_outage(rapport, fates: list[str]):
    """A sweep whose database goes away as its first post reaches Slack, meeting `fates` from then on."""
    flaky = FlakySessions(rapport.database.sessions, fates)

    def arm(method: str, _params: dict) -> None:
        flaky.armed = flaky.armed or method == "chat.postMessage"

    rapport.fake.on_call = arm
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url=rapport.fake.api_url,
                        digest=None, daily_focus=20)
    database = Database(rapport.database.engine, flaky)  # type: ignore[arg-type]
    report = sweep(database, settings, delivery_client(settings), DUE)
    assert flaky.fates == [], "the outage happened as scripted"
    return report


def _every_nudge_sent_once_where_its_row_says(rapport) -> None:
    carriers = rapport.fake.carriers()
    rows = nudges(rapport)
    assert rows and all(len(carriers.get(n.id, [])) == 1 for n in rows), "each nudge in exactly one message"
    assert all((n.status, n.channel_id, n.message_ts) == ("sent", *carriers[n.id][0]) for n in rows)


def test_what_slack_said_while_the_database_was_away_is_written_when_it_returns(rapport):
    for i in range(12):
        rapport.command(f"add Client {i:02d} channel <#C{i % 2}|c{i % 2}>")
    # the first post's outcome cannot be written, nor on the next two tries; the third finds the database back
    report = _sweep_with_outage(rapport, ["down", "down", "down"])
    assert report.delivery.posted == 12, "delivery carried on in the same pass, without waiting for a lease"
    _every_nudge_sent_once_where_its_row_says(rapport)


def test_a_claim_whose_commit_was_lost_is_handed_back_and_checked_before_posting(rapport, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH", 1)  # a card a claim: the second claim is the one that is lost
    for name in ("Acme Corp", "Globex", "Initech"):
        rapport.command(f"add {name} channel <#CACME|acme>")
    report = _sweep_with_outage(rapport, ["ok", "lost-commit", "down"])
    assert len(rapport.fake.called("conversations.history")) == 1, "the lost claim was checked in the channel"
    assert report.delivery.posted == 3
    _every_nudge_sent_once_where_its_row_says(rapport)


schedules = st.builds(
    Schedule,
    sweepers=st.integers(2, 3),
    posts=st.lists(st.sampled_from(POST_FATES), max_size=10).map(
        lambda fates: tuple(f if f != "timeout" or i == fates.index("timeout") else "drop"
                            for i, f in enumerate(fates))),  # one timeout at most: each costs a second
    histories=st.lists(st.sampled_from(HISTORY_FATES), max_size=4).map(tuple),
    forgets=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 9)), max_size=2).map(tuple),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules)
def test_under_any_schedule_of_faults_every_due_nudge_is_in_its_channel_once_and_the_database_agrees(
        database, schedule):
    assert run(database, schedule) == []



def test_a_post_unknown_for_several_passes_is_looked_for_from_its_first_attempt(rapport):
    at = {"now": DUE}
    rapport.fake.clock = lambda: at["now"]  # message ts follow the sweeps' clock; history honours `oldest`
    rapport.command("add Acme Corp channel <#CACME|acme>")
    # The first post lands but its answer is lost, and the channel's history cannot be read for two passes.
    rapport.fake.fail_next("chat.postMessage", "drop")
    rapport.fake.fail_next("conversations.history", "5xx", times=20)
    run_sweep(rapport, DUE)
    at["now"] = LATER
    run_sweep(rapport, LATER)
    [acme] = nudges(rapport)
    assert acme.status == "unknown" and len(rapport.fake.messages["CACME"]) == 1
    rapport.fake._failures.pop("conversations.history", None)  # Slack answers again
    at["now"] = LATER + timedelta(minutes=30)  # past the backoff, still in business hours

    report = run_sweep(rapport, at["now"])

    [message] = rapport.fake.messages["CACME"]
    assert report.delivery.reconciled == 1 and report.delivery.posted == 0, "the first post is found, not repeated"
    [acme] = nudges(rapport)
    assert (acme.status, acme.message_ts) == ("sent", message["ts"])



def test_a_touch_logged_while_a_cards_post_is_unsettled_leaves_the_row_saying_what_slack_has(rapport):
    """Issue 35: a card posted, its outcome unknown (a crash, a lost answer) when a touch is logged with the client.
    The touch handles it; the row still follows Slack: found in the channel it is sent, with its ts, and handled,
    and its message is rewritten as handled. It used to be dropped, its card left with live buttons in Slack."""
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "drop")  # the card reached the channel; the answer never came back
    rapport.fake.fail_next("conversations.history", "5xx")  # nor could the look for it tell
    run_sweep(rapport, DUE)
    [posted] = rapport.fake.messages["CACME"]
    assert any(b["type"] == "actions" for b in posted["blocks"]), "the card went out with its buttons"
    [acme] = nudges(rapport)
    assert acme.status == "unknown" and acme.card_id is not None
    rapport.clock.now = DUE + timedelta(minutes=5)
    rapport.command("log acme call")  # closes the client's open card, the one whose post is unsettled

    report = run_sweep(rapport, LATER)

    [acme] = nudges(rapport)
    assert (acme.status, acme.message_ts, acme.channel_id) == ("sent", posted["ts"], "CACME")
    assert (acme.handled_action, acme.handled_by) == ("logged a call", "UANA")
    assert report.delivery.reconciled == 1 and report.delivery.posted == 0 and report.delivery.dropped == 0
    assert rapport.fake.messages["CACME"] == [posted], "nothing posted again"
    [update] = rapport.fake.called("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("CACME", posted["ts"])
    assert "<@UANA> logged a call on 17 Dec." in words(update.params)
    assert not [b for b in update.params["blocks"] if b["type"] == "actions"], "its buttons are gone"
    # and the digest's action rate counts the client: carded, then a touch within 7 days
    digest = run_sweep(rapport, DUE + 7 * DAY - timedelta(hours=6), digest=(0, MONDAY.time()))
    assert digest.planned.planned.get("digest") == 1
    [sent] = [m for m in rapport.fake.messages["CACME"] if (m.get("text") or "").startswith("Weekly digest")]
    assert "Last week the 1 client Rapport brought up had a touch logged within 7 days." in words(sent)


def test_a_card_whose_unsettled_post_never_arrived_is_dropped_once_a_touch_handled_it(rapport):
    """The other side of the same: not in the channel, the handled card is never posted, and the row says so."""
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "5xx")  # Slack recorded nothing, but we cannot know that
    rapport.fake.fail_next("conversations.history", "5xx")
    run_sweep(rapport, DUE)
    rapport.clock.now = DUE + timedelta(minutes=5)
    rapport.command("log acme call")

    report = run_sweep(rapport, LATER)

    [acme] = nudges(rapport)
    assert (acme.status, acme.message_ts, acme.handled_action) == ("dropped", None, "logged a call")
    assert report.delivery.dropped == 1 and report.delivery.posted == 0
    assert rapport.fake.messages == {} and rapport.fake.called("chat.update") == []


def _killed_mid_post(rapport, at) -> None:
    """The state a SIGKILL leaves between Slack recording a post and the database hearing of it: the row claimed
    ('sending', its lease running from the claim), no ts, no first attempt written down."""
    with rapport.database.sessions.begin() as session:
        for nudge in session.scalars(select(Nudge)):
            nudge.status, nudge.claimed_by, nudge.claimed_at = "sending", "a killed worker", at
            nudge.sent_at = nudge.message_ts = None


@pytest.mark.parametrize("touched", [True, False], ids=["touched-meanwhile", "untouched"])
def test_a_post_cut_off_by_a_kill_is_looked_for_from_its_claim_even_when_the_first_look_fails(rapport, touched):
    """Issue 35, as the month's simulation found it: a post reaches the channel, the process is killed before its
    row hears so; after the lease the next pass cannot read the channel's history (a 5xx), and a later one can. The
    post is looked for from the claim it was made under, not from the pass whose look failed: found, it is sent
    with its ts (handled, if a touch came meanwhile), never dropped while in Slack nor posted twice."""
    at = {"now": DUE}
    rapport.fake.clock = lambda: at["now"]  # message ts follow the sweeps' clock; history honours `oldest`
    rapport.command("add Acme Corp channel <#CACME|acme>")
    run_sweep(rapport, DUE)
    [posted] = rapport.fake.messages["CACME"]
    _killed_mid_post(rapport, DUE)
    if touched:
        rapport.clock.now = DUE + timedelta(minutes=5)
        rapport.command("log acme call")  # handles the card whose post is unsettled
    rapport.fake.fail_next("conversations.history", "5xx")  # the next day's look for it cannot tell
    at["now"] = DUE + DAY
    run_sweep(rapport, at["now"])
    [acme] = nudges(rapport)
    assert acme.status == "unknown" and rapport.fake.messages["CACME"] == [posted]
    at["now"] = DUE + DAY + timedelta(hours=1)  # past the backoff; Slack answers again

    report = run_sweep(rapport, at["now"])

    [acme] = nudges(rapport)
    assert (acme.status, acme.message_ts) == ("sent", posted["ts"]), "what Slack has, from the day before"
    assert report.delivery.reconciled == 1 and report.delivery.posted == report.delivery.dropped == 0
    assert rapport.fake.messages["CACME"] == [posted], "nothing posted again"
    assert acme.handled_action == ("logged a call" if touched else None)
    # Second reading of issue 35: sent when Slack has it (its ts), not when it was found a day later
    assert DUE <= acme.sent_at < DUE + timedelta(seconds=1)


def test_a_post_seen_missing_then_refused_is_looked_for_from_its_next_post_not_its_first(rapport):
    """Second reading of issue 35 (7): a nudge whose unknown post was seen missing goes back to the outbox when its
    new post is refused (a 429); its next unknown outcome is looked for from that post, not from the first one, days
    back (a busy channel's history would be too long to read, every pass, until the nudge failed for good)."""
    rapport.command("add Acme Corp channel <#CACME|acme>")
    rapport.fake.fail_next("chat.postMessage", "5xx")  # Slack recorded nothing; we cannot know that
    rapport.fake.fail_next("conversations.history", "5xx")
    run_sweep(rapport, DUE)
    [acme] = nudges(rapport)
    assert acme.status == "unknown" and DUE <= acme.sent_at < DUE + timedelta(seconds=1)
    rapport.fake.fail_next("chat.postMessage", "429", times=3, retry_after=0)  # seen missing, then refused
    run_sweep(rapport, DUE + DAY)
    [acme] = nudges(rapport)
    assert acme.status == "pending" and acme.sent_at is None
    rapport.fake.fail_next("chat.postMessage", "5xx")
    rapport.fake.fail_next("conversations.history", "5xx")
    then = DUE + DAY + timedelta(hours=1)

    run_sweep(rapport, then)

    [acme] = nudges(rapport)
    assert acme.status == "unknown" and then <= acme.sent_at < then + timedelta(seconds=1)


def _actions(blocks) -> list[dict]:
    return [b for b in blocks if b["type"] == "actions"]


def test_a_found_message_is_rewritten_only_once_every_card_it_carries_is_settled(rapport):
    """Second reading of issue 35: a message of two cards, cut off by a kill. Meanwhile a touch handles one (Acme) and
    the other's client is snoozed (Globex), so the next pass finds only Acme's. Rewriting the message from the nudges
    recorded so far removed Globex's card from Slack; it is rewritten once Globex's is found too, with both cards."""
    at = {"now": DUE}
    rapport.fake.clock = lambda: at["now"]
    for name in ("Acme Corp", "Globex"):
        rapport.command(f"add {name} channel <#CACME|acme>")
    run_sweep(rapport, DUE)
    [posted] = rapport.fake.messages["CACME"]
    assert len(_actions(posted["blocks"])) == 2, "one message, two cards"
    _killed_mid_post(rapport, DUE)
    rapport.clock.now = DUE + timedelta(minutes=5)
    rapport.command("log acme call")
    rapport.command("snooze globex 1w")
    at["now"] = DUE + DAY

    first = run_sweep(rapport, at["now"])

    acme, globex = nudges(rapport)
    assert (acme.status, acme.message_ts, globex.status) == ("sent", posted["ts"], "unknown")
    assert first.delivery.reconciled == 1 and first.delivery.deferred == 1
    assert rapport.fake.called("chat.update") == [], "not rewritten while Globex's card is unaccounted for"
    at["now"] = DUE + 7 * DAY + timedelta(hours=1)  # Globex's snooze is over

    second = run_sweep(rapport, at["now"])

    acme, globex = nudges(rapport)
    assert (globex.status, globex.message_ts) == ("sent", posted["ts"])
    assert second.delivery.reconciled == 1
    assert [m["ts"] for m in rapport.fake.messages["CACME"] if m["ts"] == posted["ts"]] == [posted["ts"]]
    [update] = [c for c in rapport.fake.called("chat.update") if c.params["ts"] == posted["ts"]]
    said = words(update.params)
    assert "Acme Corp" in said and "Globex" in said and "<@UANA> logged a call" in said
    assert len(_actions(update.params["blocks"])) == 1, "Globex's card still open, Acme's handled"


def test_a_card_handled_while_its_post_is_in_flight_is_rewritten_as_handled(rapport):
    """Second reading of issue 35: a touch logged between the claim and the post's recording handled the card, but
    the post went out as claimed, open, and nothing rewrote it: its buttons answered "already handled"."""
    rapport.command("add Acme Corp channel <#CACME|acme>")
    touched: list[str] = []

    def touch_while_posting(method: str, _params: dict) -> None:
        if method == "chat.postMessage" and not touched:
            touched.append(method)
            rapport.clock.now = DUE
            rapport.command("log acme call")  # answered while the post is in flight

    rapport.fake.on_call = touch_while_posting
    report = run_sweep(rapport, DUE)
    rapport.fake.on_call = None

    [posted] = rapport.fake.messages["CACME"]
    assert touched and _actions(posted["blocks"]), "posted as it was claimed: open"
    [acme] = nudges(rapport)
    assert (acme.status, acme.message_ts, acme.handled_action) == ("sent", posted["ts"], "logged a call")
    assert report.delivery.posted == 1
    [update] = rapport.fake.called("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("CACME", posted["ts"])
    assert "<@UANA> logged a call" in words(update.params) and not _actions(update.params["blocks"])
