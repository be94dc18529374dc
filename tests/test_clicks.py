"""Clicks are serialised (PRODUCT.md §5): of two or three clicks at once on one card, promise or referral exactly
one applies and every other one is answered "Already handled by <who>", on SQLite and PostgreSQL.

The clicks go through the real Bolt app over signed HTTP, released together by a barrier. A `Race` then makes
the window they race in as wide as it can be, deterministically: see its docstring. On the code before clicks
were serialised every race here applied twice on PostgreSQL (two check-ins logged, a card done *and* snoozed, a
promise settled twice, and nobody told).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine

import bot.buttons.clicks
import bot.buttons.goals
import bot.commands.manage
import bot.commands.touches
import bot.home.tab
import handlers.actions
import handlers.home
import handlers.nudges
from storage.db import normalize_url
from storage.models import (
    AuditEvent,
    Card,
    Client,
    Commitment,
    Goal,
    GoalCheck,
    Interaction,
    Nudge,
    Referral,
    Workspace,
)
from tests.conftest import _words, buttons
from tests.test_commitments import TUE, WED, at
from tests.test_home import _view
from tests.test_sweep import MONDAY, posts, run_sweep

DAY = timedelta(days=1)
USERS = ("UANA", "UBEN", "UADMIN")
DEADLINE = 20.0  # seconds: only a hang would reach it, and reaching it fails the test (see Race.timed_out)


# --- the race -------------------------------------------------------------------------------------------------


@dataclass
class Race:
    """Holds a click that has read what it acts on, just before it applies, until every other click of the race
    has either got that far too or is waiting for it in the database.

    Code that reads without a lock lets both clicks read the same open card: both get past their checks and
    both apply, every time, not only when the scheduler happens to interleave them. Code that locks makes the
    other clicks wait in the database (PostgreSQL: their backends show in pg_blocking_pids; SQLite: a request
    that has arrived can only queue behind the write lock this one holds), so this one goes on, and they read
    what it did. Nothing waits for time to pass; PostgreSQL's lock table is looked at again every few
    milliseconds until the condition holds, because no event tells a process another one started waiting.
    """

    engine: Engine
    expected: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)
    # A click is one request, not one thread: a pool thread that has answered one click may pick up the next, and
    # counting threads then saw one click where there were two (the other held until the deadline).
    arrived: set[int] = field(default_factory=set)
    applying: set[int] = field(default_factory=set)
    finished: set[int] = field(default_factory=set)
    threads: dict[int, int] = field(default_factory=dict)  # click -> the server thread working it out
    backends: dict[int, int] = field(default_factory=dict)  # server thread -> its PostgreSQL backend pid
    current: threading.local = field(default_factory=threading.local)  # the click this thread works out now
    numbered: Iterator[int] = field(default_factory=itertools.count)
    timed_out: bool = False
    holds: int = 0  # how many clicks were held back, at least once each race

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def start(self, clicks: int) -> None:
        with self.cond:
            self.expected, self.timed_out = clicks, False
            self.arrived, self.applying, self.finished = set(), set(), set()
            self.holds = 0

    def enter(self) -> None:
        with self.cond:
            click = next(self.numbered)
            self.current.click = click
            self.arrived.add(click)
            self.threads[click] = threading.get_ident()
            self.cond.notify_all()

    def leave(self) -> None:
        with self.cond:
            self.finished.add(self.current.click)
            self.current.click = None
            self.cond.notify_all()

    def checked_out(self, dbapi_connection: Any, *_: Any) -> None:
        if self.postgres:
            with self.cond:
                self.backends[threading.get_ident()] = dbapi_connection.info.backend_pid

    def about_to_apply(self) -> None:
        me = getattr(self.current, "click", None)
        with self.cond:
            if me not in self.arrived or me in self.applying:
                return  # not a click of this race, or it is already past this point
            self.applying.add(me)
            self.holds += 1
            self.cond.notify_all()
            deadline = time.monotonic() + DEADLINE
            while not self._others_caught_up(me):
                left = deadline - time.monotonic()
                if left <= 0:
                    self.timed_out = True
                    return
                self.cond.wait(min(left, 0.005) if self.postgres else left)

    def done(self, timeout: float = DEADLINE) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.finished) >= self.expected, timeout)

    def _others_caught_up(self, me: int) -> bool:
        if len(self.arrived) < self.expected:
            return False
        pending = self.arrived - self.finished - self.applying - {me}
        if not pending or not self.postgres:
            return True
        pids = [self.backends.get(self.threads[click]) for click in pending]
        if None in pids:
            return False
        with self.engine.connect() as conn:
            blocked = conn.execute(text("SELECT count(*) FROM unnest(CAST(:pids AS int[])) AS p "
                                        "WHERE cardinality(pg_blocking_pids(p)) > 0"), {"pids": pids}).scalar()
        return blocked == len(pids)


# Where the clicks enter (a request is a click of the race from then on) and where each applies what it read.
ENTRIES = ((handlers.nudges, "run_click"), (handlers.home, "home_settle"), (handlers.home, "home_not_relevant"),
           (handlers.actions, "run_button"))
APPLIES = ((bot.buttons.clicks, "close"), (bot.buttons.clicks, "answer_nudges"), (bot.home.tab, "settle"),
           (bot.home.tab, "not_relevant"), (bot.commands.touches, "mark_referrals_thanked"),
           (bot.commands.manage, "delete_client"),
           (bot.buttons.goals, "check"), (bot.buttons.goals, "close_goal"))


def _entered(race: Race, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        race.enter()
        try:
            return original(*args, **kwargs)
        finally:
            race.leave()
    return wrapper


def _applying(race: Race, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        race.about_to_apply()
        return original(*args, **kwargs)
    return wrapper


def racing_on(rapport, database_url, monkeypatch, entries: Any = ENTRIES, applies: Any = APPLIES  # type: ignore[no-untyped-def]
              ) -> Iterator[Race]:
    """A Race held at `entries` (where a request enters) and `applies` (where it applies what it read)."""
    probe = create_engine(normalize_url(database_url))
    found = Race(probe)
    for module, name in entries:
        monkeypatch.setattr(module, name, _entered(found, getattr(module, name)))
    for module, name in applies:
        monkeypatch.setattr(module, name, _applying(found, getattr(module, name)))
    event.listen(rapport.database.engine, "checkout", found.checked_out)
    yield found
    event.remove(rapport.database.engine, "checkout", found.checked_out)
    probe.dispose()


@pytest.fixture
def race(rapport, database_url, monkeypatch) -> Iterator[Race]:
    yield from racing_on(rapport, database_url, monkeypatch)


def at_once(race: Race, clicks: list[Callable[[], Any]], *, one_applies: bool = True) -> list[Any]:
    """Send the clicks from as many threads, released together; returns once the app has worked each out.
    `one_applies`: at least one of them got as far as applying (not when every one may be refused)."""
    race.start(len(clicks))
    barrier = threading.Barrier(len(clicks))
    results: list[Any] = [None] * len(clicks)

    def send(i: int) -> None:
        barrier.wait()
        results[i] = clicks[i]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert race.done(), "a click was never worked out"
    assert not race.timed_out, "the race window was never closed: a click neither got through nor waited"
    assert race.holds >= 1 or not one_applies, "no click of the race got as far as applying anything"
    return results


# --- clicks, as Slack sends them ------------------------------------------------------------------------------


def bolt_python_block_actions(*, team: str, user: str, channel: str, message_ts: str, response_url: str,
                              action_id: str, block_id: str, value: str, label: str) -> dict[str, Any]:
    """A button's block_actions payload taken verbatim from slackapi/bolt-python,
    tests/scenario_tests/test_block_actions.py (the module's `body`), adapted only in its ids: team, user,
    channel and message, the response URL, and the button's action and block id, value and label. The capture
    names an Enterprise Grid org inside `team`; these workspaces are not on Grid, so the org's two keys are
    left out (with them, the click belongs to the org's workspace, as Bolt reads it)."""
    return {
        "type": "block_actions",
        "user": {
            "id": user,
            "username": "primary-owner",
            "name": "primary-owner",
            "team_id": team,
        },
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": "111.222.valid",
        "team": {
            "id": team,
            "domain": "workspace-domain",
        },
        "channel": {"id": channel, "name": "test-channel"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": "1596530385.194939",
            }
        ],
    }


@dataclass
class PostedCard:
    """A card as posted in a channel, and the workspace it belongs to."""

    message: dict[str, Any]
    team: str = "T1"

    def control(self, action_id: str) -> dict[str, Any]:
        """"nudge_done": the card's button that does what its reason asks (Record check-in, Mark thanked, …); a card
        with none (a goal at risk) is pressed with an older message's Done, which must stay serialised too."""
        elements = [e for b in self.message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        found = next((e for e in elements if e["action_id"] == action_id or
                      (action_id == "nudge_done" and e["action_id"].startswith("nudge_done_"))), None)
        if found is None and action_id == "nudge_done":
            log_button = next(e for e in elements if e["action_id"] == "nudge_log")
            return {**log_button, "action_id": "nudge_done", "text": {"type": "plain_text", "text": "Done"}}
        assert found is not None, action_id
        return found


def press(rapport, card: PostedCard, action_id: str, user: str, *, period: str = "1w", verbatim: bool = False
          ) -> Callable[[], str]:
    """A click on a card's control, ready to send; sending it returns the response_url path it may answer on."""
    element = card.control(action_id)
    path = f"response/{uuid.uuid4().hex[:8]}"
    url = f"{rapport.fake.url}/{path}"
    if verbatim:
        payload = bolt_python_block_actions(
            team=card.team, user=user, channel=card.message["channel"], message_ts="1.000100", response_url=url,
            action_id=element["action_id"], block_id=f"nudge-{element['value']}", value=element["value"],
            label=element["text"]["text"])
    else:
        action: dict[str, Any] = {"type": element["type"], "action_id": element["action_id"], "block_id": "b",
                                  "action_ts": "1"}
        if element["type"] == "static_select":
            action["selected_option"] = next(o for o in element["options"] if o["value"].endswith(":" + period))
        else:
            action["value"] = element["value"]
        payload = {"type": "block_actions", "trigger_id": "trig.1", "response_url": url, "team": {"id": card.team},
                   "user": {"id": user}, "container": {"type": "message", "channel_id": card.message["channel"],
                                                       "message_ts": "1.000100"},
                   "channel": {"id": card.message["channel"]}, "actions": [action]}

    def send() -> str:
        rapport.interact(payload)
        return path
    return send


def press_home(rapport, action_id: str, value: str, user: str, team: str = "T1") -> Callable[[], str]:
    payload = {"type": "block_actions", "trigger_id": "trig.home", "team": {"id": team}, "user": {"id": user},
               "container": {"type": "view"}, "view": {"id": "VHOME", "type": "home"},
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "action_ts": "1",
                            "value": value}]}

    def send() -> str:
        rapport.interact(payload)
        return user
    return send


def answers(rapport, paths: list[str], count: int) -> dict[str, str]:
    """What went back to each response URL, once `count` answers came (or a few seconds passed)."""
    rapport.fake.wait_until(lambda: sum(bool(rapport.fake.called(p)) for p in paths) >= count, 5)
    return {p: _words(rapport.fake.called(p)[0].params) for p in paths if rapport.fake.called(p)}


def home_views(rapport, users: list[str]) -> dict[str, str]:
    """The Home tab each user was last shown, once each was shown one."""
    def published() -> dict[str, str]:
        return {c.params["user_id"]: json.dumps(_view(c), ensure_ascii=False)
                for c in rapport.fake.called("views.publish")}
    rapport.fake.wait_until(lambda: set(users) <= set(published()), 5)
    return published()


def already(text: str, winner: str) -> bool:
    return f"Already handled by @{winner}" in text or f"Already handled by <@{winner}>" in text


# --- setting up a card of each kind ---------------------------------------------------------------------------


SETUPS: dict[str, tuple[tuple[str, ...], datetime]] = {
    # what is typed, and when the sweep that posts the card runs
    "checkin": (("add {name} every 1w channel <#{channel}|c>",), MONDAY + 7 * DAY),
    "thank": (("add {name} channel <#{channel}|c>", "referral {name} -> Beta Ltd"), MONDAY + 2 * DAY),
    "promise": (("add {name} channel <#{channel}|c>", "promise {name} the deck by wednesday"), at(TUE)),
    "issue": (("add {name} channel <#{channel}|c>", "issue {name} sso is broken"), at(WED)),
    # a goal agreed on Monday asks how confident its owner is on the next Monday
    "goal": (("add {name} channel <#{channel}|c>", "goal {name} renew the contract by 2027-03-31"), MONDAY + 7 * DAY),
}


def post_card(rapport, kind: str, team: str = "T1", name: str = "Acme Corp") -> PostedCard:
    """A card about one client of a workspace, posted by a sweep as the scheduler runs it."""
    channel = "C" + team.upper()
    lines, sweep_at = SETUPS[kind]
    rapport.clock.now = MONDAY
    for line in lines:
        rapport.command(line.format(name=name, channel=channel), team=team)
    run_sweep(rapport, sweep_at)
    rapport.clock.now = sweep_at + timedelta(minutes=5)
    [message] = posts(rapport, channel)
    return PostedCard(message, team)


def card_row(rapport, team: str = "T1") -> Card:
    with rapport.database.sessions() as session:
        return session.scalars(select(Card).join(Workspace, Workspace.id == Card.workspace_id)
                               .where(Workspace.team_id == team)).one()


def client_row(rapport, team: str = "T1", name: str = "Acme Corp") -> Client:
    with rapport.database.sessions() as session:
        return session.scalars(select(Client).join(Workspace, Workspace.id == Client.workspace_id)
                               .where(Workspace.team_id == team, Client.name == name)).one()


def checkins(rapport, team: str = "T1") -> list[Interaction]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Interaction).join(Workspace, Workspace.id == Interaction.workspace_id)
                                    .where(Workspace.team_id == team, Interaction.kind == "checkin")))


def commitment_rows(rapport, team: str = "T1") -> list[Commitment]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Commitment).join(Workspace, Workspace.id == Commitment.workspace_id)
                                    .where(Workspace.team_id == team).order_by(Commitment.id)))


# --- two clicks at once, by hand --------------------------------------------------------------------------------


def test_done_and_done_log_one_check_in_and_the_second_hears_who_did(rapport, race):
    card = post_card(rapport, "checkin")
    # one of the two as Slack sends it, in the shape of bolt-python's captured payload
    paths = at_once(race, [press(rapport, card, "nudge_done", "UANA", verbatim=True),
                           press(rapport, card, "nudge_done", "UBEN")])
    assert len(checkins(rapport)) == 1, "exactly one check-in is logged"
    closed = card_row(rapport)
    assert closed.closed_action == "checked in"
    said = answers(rapport, paths, 1)
    assert len(said) == 1, f"the click that came second is answered, the first is not: {said}"
    [answer] = said.values()
    assert already(answer, closed.closed_by) and "checked in" in answer
    assert checkins(rapport)[0].logged_by == closed.closed_by


def test_two_answers_to_a_goals_weekly_question_at_once_record_one(rapport, race):
    card = post_card(rapport, "goal")
    paths = at_once(race, [press(rapport, card, "goal_confidence_8", "UANA"),
                           press(rapport, card, "goal_confidence_7", "UBEN")])
    with rapport.database.sessions() as session:
        checks = list(session.scalars(select(GoalCheck)))
        goal = session.scalars(select(Goal)).one()
    assert len(checks) == 1 and goal.confidence == checks[0].confidence
    said = answers(rapport, paths, 1)
    assert len(said) == 1, f"the click that came second is answered, the first is not: {said}"
    [answer] = said.values()
    assert already(answer, checks[0].by) and f"answered {checks[0].confidence}/10" in answer


def test_met_and_missed_at_once_close_the_goal_once(rapport, race):
    rapport.clock.now = MONDAY
    rapport.command("add Acme Corp channel <#CT1|c>")
    rapport.command("goal acme corp renew the contract by friday")
    run_sweep(rapport, MONDAY + 7 * DAY)
    [message] = posts(rapport, "CT1")
    card = PostedCard(message, "T1")
    # the owner and an admin: marking a goal met or missed is theirs (PRODUCT.md §3)
    paths = at_once(race, [press(rapport, card, "goal_met", "UANA"), press(rapport, card, "goal_missed", "UADMIN")])
    with rapport.database.sessions() as session:
        goal = session.scalars(select(Goal)).one()
        closing = list(session.scalars(select(AuditEvent).where(AuditEvent.action.in_(("goal_met", "goal_missed")))))
    assert goal.status in ("met", "missed") and len(closing) == 1 and closing[0].actor_id == goal.closed_by
    [answer] = answers(rapport, paths, 1).values()
    assert already(answer, goal.closed_by or "") and f"marked it {goal.status}" in answer


def test_done_and_snooze_at_once_only_one_applies(rapport, race):
    card = post_card(rapport, "checkin")
    paths = at_once(race, [press(rapport, card, "nudge_done", "UANA"),
                           press(rapport, card, "nudge_snooze", "UBEN", period="2w")])
    closed, client = card_row(rapport), client_row(rapport)
    done, snoozed = len(checkins(rapport)) == 1, client.snoozed_until is not None
    assert done != snoozed, "the card is either done or snoozed, never both"
    assert len(checkins(rapport)) == (1 if done else 0)
    assert closed.closed_by == ("UANA" if done else "UBEN")
    assert closed.closed_action == ("checked in" if done else "snoozed Acme Corp for 2 weeks")
    [answer] = answers(rapport, paths, 1).values()
    assert already(answer, closed.closed_by)


def test_mark_thanked_twice_on_a_card_thanks_once(rapport, race):
    card = post_card(rapport, "thank")
    assert card.control("nudge_done")["text"]["text"] == "Mark thanked"
    paths = at_once(race, [press(rapport, card, "nudge_done", "UANA"), press(rapport, card, "nudge_done", "UBEN")])
    closed = card_row(rapport)
    with rapport.database.sessions() as session:
        [referral] = session.scalars(select(Referral)).all()
    assert referral.thanked_by == closed.closed_by and closed.closed_action == "thanked them"
    [answer] = answers(rapport, paths, 1).values()
    assert already(answer, closed.closed_by)


def test_mark_thanked_twice_on_the_referral_prompt_thanks_once(rapport, race):
    rapport.command("add Acme Corp")
    [mark] = buttons(rapport.command("referral acme corp -> Beta Ltd"))

    def click(user: str) -> Callable[[], Any]:
        return lambda: rapport.click(mark, user=user)

    first, second = at_once(race, [click("UANA"), click("UBEN")])
    with rapport.database.sessions() as session:
        [referral] = session.scalars(select(Referral)).all()
    winner = referral.thanked_by
    texts = [first.text, second.text]
    assert sum(already(t, winner) for t in texts) == 1, texts
    assert sum("thanked Acme Corp for introducing Beta Ltd" in t for t in texts) == 1, texts


def test_forget_confirmed_twice_at_once_forgets_once_and_says_who_did(rapport, race):
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from")
    forget = next(b for b in buttons(rapport.command("forget acme corp")) if b["action_id"] == "forget_confirm")
    first, second = at_once(race, [lambda: rapport.click(forget, user="UANA"),
                                   lambda: rapport.click(forget, user="UADMIN")])
    texts = [first.text, second.text]
    winner = "UANA" if "Forgot Acme Corp" in first.text else "UADMIN"
    assert sum("Forgot Acme Corp and all its history" in t for t in texts) == 1, texts
    assert sum(already(t, winner) and "forgot the client" in t for t in texts) == 1, texts
    with rapport.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 0


def _owed(rapport, kind: str) -> str:
    """The id the Home tab's Kept or Resolved button carries for the client's one commitment."""
    [commitment] = [c for c in commitment_rows(rapport) if c.kind == kind]
    return str(commitment.id)


@pytest.mark.parametrize(("kind", "action_id", "words"), [("promise", "home_kept", "kept the promise"),
                                                          ("issue", "home_resolved", "resolved it")])
def test_kept_or_resolved_twice_on_the_home_tab_settles_once(rapport, race, kind, action_id, words):
    post_card(rapport, kind)
    value = _owed(rapport, kind)
    at_once(race, [press_home(rapport, action_id, value, "UANA"), press_home(rapport, action_id, value, "UBEN")])
    [commitment] = commitment_rows(rapport)
    assert commitment.done_at == rapport.clock.now and commitment.done_by in ("UANA", "UBEN")
    views = home_views(rapport, ["UANA", "UBEN"])
    loser = "UBEN" if commitment.done_by == "UANA" else "UANA"
    assert already(_words(json.loads(views[loser])), commitment.done_by)
    assert words in views[loser]
    assert "Already handled" not in views[commitment.done_by]
    closed = card_row(rapport)
    assert (closed.closed_action, closed.closed_by) == (words, commitment.done_by)  # its posted card, once


def test_mark_kept_on_the_card_and_kept_on_the_home_tab_at_once_keep_it_once(rapport, race):
    card = post_card(rapport, "promise")
    value = _owed(rapport, "promise")
    paths = at_once(race, [press(rapport, card, "nudge_done", "UANA"),
                           press_home(rapport, "home_kept", value, "UBEN")])
    [commitment] = commitment_rows(rapport)
    closed = card_row(rapport)
    assert commitment.done_by == closed.closed_by and closed.closed_action == "kept the promise"
    if commitment.done_by == "UANA":  # the card's click came first: the Home tab says so
        assert already(_words(json.loads(home_views(rapport, ["UBEN"])["UBEN"])), "UANA")
    else:
        [answer] = answers(rapport, paths[:1], 1).values()
        assert already(answer, "UBEN") and "kept the promise" in answer


def test_not_relevant_twice_on_a_waiting_client_in_the_home_tab_applies_once(rapport, race):
    for name in ("Acme Corp", "Beta Ltd"):
        rapport.command(f"add {name} channel <#CT1|c>")
    run_sweep(rapport, MONDAY + 31 * DAY, daily_focus=1)  # one carded, the other waits in App Home
    rapport.clock.now = MONDAY + 31 * DAY + timedelta(minutes=5)
    with rapport.database.sessions() as session:
        carded = session.scalar(select(Card.client_id))
        waiting = session.scalars(select(Client).where(Client.id != carded)).one()
    at_once(race, [press_home(rapport, "home_not_relevant", str(waiting.id), user) for user in ("UANA", "UBEN")])
    with rapport.database.sessions() as session:
        dropped = session.scalars(select(Nudge).where(Nudge.client_id == waiting.id)).all()
    assert [(n.status, n.handled_action) for n in dropped] == [("dropped", "marked it not relevant")]
    winner = dropped[0].handled_by
    loser = "UBEN" if winner == "UANA" else "UANA"
    views = home_views(rapport, ["UANA", "UBEN"])
    assert already(_words(json.loads(views[loser])), winner) and "Already handled" not in views[winner]


def test_a_click_on_a_card_a_touch_has_closed_says_who_logged_what(rapport):
    card = post_card(rapport, "checkin")
    rapport.command("log acme corp call to : left a voicemail", user="UBEN")
    path = press(rapport, card, "nudge_snooze", "UANA")()
    [reply] = rapport.fake.wait_for(path)
    assert already(_words(reply.params), "UBEN") and "logged a call" in _words(reply.params)
    assert client_row(rapport).snoozed_until is None


# --- any two or three buttons at once -----------------------------------------------------------------------------

CARD_BUTTONS = (("nudge_done", ""), ("nudge_snooze", "1w"), ("nudge_snooze", "2w"), ("nudge_snooze", "1m"),
                ("nudge_not_relevant", ""))
DONE = {"checkin": "checked in", "thank": "thanked them", "promise": "kept the promise",
        "issue": "sent them an update", "goal": "marked it done"}
SNOOZED = {"1w": "1 week", "2w": "2 weeks", "1m": "1 month"}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(SETUPS)),
       clicks=st.lists(st.sampled_from(CARD_BUTTONS), min_size=2, max_size=3))
def test_any_buttons_pressed_at_once_on_one_card_exactly_one_applies(rapport, race, kind, clicks):
    team = f"TH{uuid.uuid4().hex[:6].upper()}"  # a workspace of its own for each example
    card = post_card(rapport, kind, team)
    users = USERS[:len(clicks)]
    paths = at_once(race, [press(rapport, card, action_id, user, period=period or "1w")
                           for (action_id, period), user in zip(clicks, users, strict=True)])
    closed = card_row(rapport, team)
    assert closed.closed_by in users
    action_id, period = clicks[users.index(closed.closed_by)]
    expected = {"nudge_done": DONE[kind], "nudge_not_relevant": "marked it not relevant",
                "nudge_snooze": f"snoozed Acme Corp for {SNOOZED.get(period, '')}"}[action_id]
    assert closed.closed_action == expected, "the card says what its one winning click did"

    said = answers(rapport, paths, len(clicks) - 1)
    losers = [p for p, u in zip(paths, users, strict=True) if u != closed.closed_by]
    assert sorted(said) == sorted(losers), "every click but the winner's is answered, the winner's is not"
    assert all(already(said[p], closed.closed_by) for p in losers)

    client = client_row(rapport, team)
    assert (client.snoozed_until is not None) == (action_id == "nudge_snooze")
    with rapport.database.sessions() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == team)).one()
        logged = session.scalar(select(func.count()).select_from(Interaction)
                                .where(Interaction.workspace_id == workspace.id, Interaction.direction.is_not(None)))
        referrals = list(session.scalars(select(Referral).where(Referral.workspace_id == workspace.id)))
        commitments = list(session.scalars(select(Commitment).where(Commitment.workspace_id == workspace.id)))
    won_done = action_id == "nudge_done"
    assert logged == (1 if won_done and kind in ("checkin", "issue") else 0), "a touch logged once, or not at all"
    if kind == "thank":
        [referral] = referrals
        assert (referral.thanked_by == closed.closed_by) if won_done else referral.thanked_at is None
    if kind == "promise":
        [promise] = commitments
        assert (promise.done_by == closed.closed_by) if won_done else promise.done_at is None
