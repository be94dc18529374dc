"""Who may change what (PRODUCT.md §3): anyone logs and adds; what others rely on — handoff, forget, owner, sharing a
review, marking a goal met or missed, removing a contact — is for the client's owner and workspace admins; a new
owner is a person of our own workspace, as Slack says; and two such changes at once to one client are one applied
and the other refused or seeing the first. Through signed commands and clicks to the real Bolt app and the fake
Slack's users.info, on SQLite and PostgreSQL; the races released together and held open as tests/test_clicks.py
holds them.

On the code before issue 30: a handoff, `owner` or CSV row made a bot, a deactivated or unknown user or a Slack
Connect member of the client's organisation its owner; anyone could mark another owner's goal met or missed or
remove a client's contact; on PostgreSQL two handoffs at once by the owner both applied (the second on the authority
of someone no longer the owner) and the same goal agreed twice at once was two goals. The randomised tests found
each of those within their examples.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import bot.commands.contacts
import bot.commands.goals
import bot.commands.handoffs
import bot.commands.manage
import bot.log_form.goals
import bot.reviews.share
import handlers.actions
import handlers.commands
import handlers.reviews
import handlers.views
from bot.reviews.figures import Rules
from bot.reviews.freeze import prepare_page, store_page
from storage.models import Client, Contact, Goal, Handoff, Workspace
from tests.cli import run
from tests.test_clicks import PostedCard, Race, at_once, press, racing_on
from tests.test_home import _view
from tests.test_interactive import _submit
from tests.test_sweep import MONDAY, posts, run_sweep

DAY = timedelta(days=1)
ADMIN = "UADMIN"
DECEMBER = datetime(2026, 12, 1, 10, tzinfo=UTC)


# --- a client of a workspace of its own ------------------------------------------------------------------------


def _workspace(rapport, team: str, owner: str = "UANA") -> str:
    """Acme Corp, owned by `owner`, with Jane Doe (its advocate) and Kim, an open goal, a linked Slack Connect channel
    and November's review frozen, on the 2nd of December; returns the channel."""
    channel = f"C{team}"
    rapport.fake.channels[channel] = {"is_member": True, "is_ext_shared": True}
    rapport.clock.now = MONDAY
    assert "Added Acme Corp" in rapport.command(f"add Acme Corp owner <@{owner}> contact Jane Doe", user=ADMIN,
                                                team=team).text
    rapport.command("contact acme corp Kim other", team=team)
    rapport.command("goal acme corp renew the contract by 2027-03-31", team=team)
    assert "Linked" in rapport.command(f"link acme corp <#{channel}|shared>", team=team).text
    with rapport.database.sessions.begin() as session:  # November frozen, as the month's first sweep freezes it
        workspace = session.scalars(select(Workspace).where(Workspace.team_id == team)).one()
        page = prepare_page(session, workspace.id, "2026-11", DECEMBER, Rules(ZoneInfo("UTC")))
        store_page(session, workspace.id, "2026-11", page, DECEMBER)
    rapport.clock.now = DECEMBER + DAY
    return channel


def _client(rapport, team: str) -> Client | None:
    with rapport.database.sessions() as session:
        return session.scalars(select(Client).join(Workspace, Workspace.id == Client.workspace_id)
                               .where(Workspace.team_id == team)).one_or_none()


def _open_goals(rapport, client_id: int) -> list[str]:
    with rapport.database.sessions() as session:
        return list(session.scalars(select(Goal.what).where(Goal.client_id == client_id, Goal.status == "open")))


def _contacts(rapport, client_id: int) -> set[str]:
    with rapport.database.sessions() as session:
        return set(session.scalars(select(Contact.name).where(Contact.client_id == client_id)))


def _handoffs(rapport, client_id: int) -> int:
    with rapport.database.sessions() as session:
        return len(session.scalars(select(Handoff.id).where(Handoff.client_id == client_id)).all())


def _shared(rapport, channel: str) -> int:
    return sum("Our month together" in str(m.get("text")) for m in rapport.fake.messages.get(channel, []))


# --- 1. a new owner is a person of our own workspace -------------------------------------------------------------

STRANGERS = {
    "UROBOT": ({"tz": "UTC", "is_bot": True}, "is a bot, not a person"),
    "UGONE": ({"tz": "UTC", "deleted": True}, "is deactivated in Slack"),
    "UNOBODY": (None, "Slack doesn't know"),
    "UJANE": ({"tz": "UTC", "team_id": "TACME"}, "is from another organisation (Slack Connect)"),
    "USLACKBOT": ({"tz": "UTC", "team_id": "T1", "is_bot": False}, "is a bot, not a person"),  # as users.info says
}


def _strangers(fake) -> None:  # type: ignore[no-untyped-def]
    fake.users.update({user: info for user, (info, _) in STRANGERS.items() if info is not None})
    fake.users["UANA"] = {"tz": "Europe/London", "team_id": "T1"}
    fake.users["UBOB"] = {"tz": "UTC", "team_id": "T1"}


@pytest.mark.parametrize("command", ["handoff acme corp to <@{user}>", "owner acme corp <@{user}>"])
def test_a_bot_a_deactivated_or_unknown_user_or_a_slack_connect_member_cannot_be_given_a_client(rapport, command):
    _strangers(rapport.fake)
    rapport.command("add Acme Corp")
    for user, (_, why) in STRANGERS.items():
        refused = rapport.command(command.format(user=user)).text
        assert why in refused, refused
        client = _client(rapport, "T1")
        assert client is not None and client.owner_id == "UANA"
        assert _handoffs(rapport, client.id) == 0
    assert "UBOB" in rapport.command(command.format(user="UBOB")).text  # one of ours
    assert _client(rapport, "T1").owner_id == "UBOB"
    # nor as the owner a client is added with
    assert "is a bot, not a person" in rapport.command("add Globex owner <@UROBOT>").text
    assert [c.name for c in [_client(rapport, "T1")]] == ["Acme Corp"]


def test_someone_of_the_same_enterprise_grid_org_may_own_a_client(rapport):
    rapport.fake.users["UORG"] = {"tz": "UTC", "team_id": "T2", "enterprise_user": {"enterprise_id": "E1"}}
    rapport.fake.users["UELSE"] = {"tz": "UTC", "team_id": "T9", "enterprise_user": {"enterprise_id": "E9"}}
    rapport.command("add Acme Corp", enterprise="E1")
    assert "is from another organisation" in rapport.command("owner acme corp <@UELSE>", enterprise="E1").text
    assert "now owns" in rapport.command("owner acme corp <@UORG>", enterprise="E1").text


def test_a_csv_owner_is_checked_with_slack_and_a_refused_row_leaves_no_trace(tmp_path, fake_slack):
    _strangers(fake_slack)
    rows = "name,owner\nAcme Corp,UANA\n" + "".join(f"Client {user},{user}\n" for user in STRANGERS)
    (tmp_path / "clients.csv").write_text(rows)
    result = run(["import", "clients.csv"], tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.api_url)
    assert result.returncode == 1, result.stderr
    assert f"1 added, 0 updated, 0 unchanged, {len(STRANGERS)} rejected" in result.stdout
    for line, (user, (_, why)) in enumerate(STRANGERS.items(), start=3):
        assert f"line {line}: rejected: owner refused: " in result.stdout and why in result.stdout, user
    assert len(fake_slack.called("users.info")) == 1 + len(STRANGERS)  # each owner asked about once
    # an owner taken from an existing client by a later file is checked too
    (tmp_path / "again.csv").write_text("name,owner\nAcme Corp,UROBOT\n")
    again = run(["import", "again.csv"], tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.api_url)
    assert "line 2: rejected: owner refused: UROBOT is a bot" in again.stdout


# --- 2. what others rely on is for the owner or an admin ---------------------------------------------------------


def test_only_the_owner_or_an_admin_marks_a_goal_met_or_missed_or_removes_a_contact(rapport):
    rapport.command("add Acme Corp channel <#CT1|c> contact Jane Doe")
    rapport.command("contact acme corp Kim other")
    rapport.command("goal acme corp renew the contract by friday")
    for line in ("goal acme corp met", "goal acme corp missed", "contact acme corp Kim remove"):
        refused = rapport.command(line, user="UBEN").text
        assert "Only Acme Corp's owner or a workspace admin" in refused, line
    client = _client(rapport, "T1")
    assert _open_goals(rapport, client.id) == ["renew the contract"] and "Kim" in _contacts(rapport, client.id)
    assert "confidence" in rapport.command("goal acme corp confidence 6", user="UBEN").text.lower()  # anyone may

    run_sweep(rapport, MONDAY + 7 * DAY)  # the goal's date has passed: its card asks met or missed
    [message] = posts(rapport, "CT1")
    card = PostedCard(message, "T1")
    path = press(rapport, card, "goal_missed", "UBEN")()
    [answer] = rapport.fake.wait_for(path)
    assert "Only Acme Corp's owner or a workspace admin can mark its goals met or missed" in str(answer.params)
    assert _open_goals(rapport, client.id) == ["renew the contract"]

    assert "Removed Kim" in rapport.command("contact acme corp Kim remove", user=ADMIN).text
    assert "Met" in rapport.command("goal acme corp met").text
    assert _open_goals(rapport, client.id) == []


# --- 3. two at once -----------------------------------------------------------------------------------------------

ENTRIES = ((handlers.commands, "run_client_command"), (handlers.actions, "run_button"),
           (handlers.reviews, "share_review"), (handlers.views, "run_log_form"))
APPLIES = ((bot.commands.handoffs, "hand_off"), (bot.commands.manage, "move_open_goals"),
           (bot.commands.goals, "agree"), (bot.log_form.goals, "agree"), (bot.commands.contacts, "remove_contact"),
           (bot.commands.manage, "delete_client"), (bot.reviews.share, "claim_share"))


@pytest.fixture
def racing(rapport, database_url, monkeypatch) -> Iterator[Race]:
    yield from racing_on(rapport, database_url, monkeypatch, ENTRIES, APPLIES)


def together(race: Race, sends: list[Callable[[], str]]) -> list[str]:
    """Send them from as many threads, released together; what each was answered (both may be refused)."""
    return at_once(race, sends, one_applies=False)


def test_two_handoffs_at_once_by_the_owner_apply_one_and_refuse_the_other(rapport, racing):
    rapport.command("add Acme Corp")
    first, second = together(racing, [lambda: rapport.command("handoff acme corp to <@UBOB>").text,
                                      lambda: rapport.command("handoff acme corp to <@UBEN>").text])
    client = _client(rapport, "T1")
    assert _handoffs(rapport, client.id) == 1
    winner, loser = (first, second) if "handed from" in first else (second, first)
    assert "handed from" in winner and "Only Acme Corp's owner or a workspace admin" in loser
    assert client.owner_id == ("UBOB" if winner is first else "UBEN")


def test_the_same_goal_agreed_twice_at_once_is_one_goal(rapport, racing):
    rapport.command("add Acme Corp")
    said = together(racing, [lambda u=user: rapport.command("goal acme corp renew the contract by 2027-03-31",
                                                            user=u).text for user in ("UANA", "UBEN")])
    assert _open_goals(rapport, _client(rapport, "T1").id) == ["renew the contract"]
    assert sorted("Goal agreed" in s for s in said) == [False, True]
    assert any("already has this goal open" in s for s in said)


def test_the_same_goal_from_the_command_and_the_log_form_at_once_is_one_goal(rapport, racing):
    rapport.command("add Acme Corp")
    client_id = _client(rapport, "T1").id
    rapport.command("", answered=False)
    view = _view(rapport.fake.wait_for("views.open")[0])
    said = together(racing, [
        lambda: rapport.command("goal acme corp renew the contract by 2027-03-31").text,
        lambda: _submit(rapport, view, client_id=client_id, kind="goal", day="2027-03-31",
                        note="renew the contract").body])
    assert _open_goals(rapport, client_id) == ["renew the contract"]
    command, form = said
    first_was_the_command = "Goal agreed" in command
    assert first_was_the_command == ("already has this goal open" in form), said  # the form saw the command's
    assert first_was_the_command != (form == ""), said  # or the form's goal is the one (the command saw it)
    if not first_was_the_command:
        assert "already has this goal open" in command


# --- the permission matrix, and any two of the new commands at once, against a serial model --------------------

USERS = ("UANA", "UBEN", ADMIN)
TARGETS = ("UBOB", "UBEN", "UANA")
KINDS = ("handoff", "owner", "goal", "contact remove", "forget", "share", "goal met", "goal missed")


@dataclass(frozen=True)
class World:
    """What the client is, as a serial run of the commands would leave it."""

    exists: bool = True
    owner: str = "UANA"
    goals: frozenset[str] = frozenset({"renew the contract"})
    contacts: frozenset[str] = frozenset({"Jane Doe", "Kim"})
    shared: bool = False
    handoffs: int = 0


Command = tuple[str, str, str]  # (kind, who sends it, its argument)


def step(world: World, command: Command) -> tuple[World, str]:
    """One command on the world: the world after it, and 'ok', 'refused' or 'gone'."""
    kind, user, arg = command
    if not world.exists:
        return world, "gone"
    allowed = user in (world.owner, ADMIN)
    if kind in ("handoff", "owner"):
        if not allowed or arg == world.owner:
            return world, "refused"
        return replace(world, owner=arg, handoffs=world.handoffs + (kind == "handoff")), "ok"
    if kind == "goal":
        if arg in world.goals:
            return world, "refused"
        return replace(world, goals=world.goals | {arg}), "ok"
    if kind in ("goal met", "goal missed"):  # the only open goal; with none or several, which one is asked
        if not allowed or len(world.goals) != 1:
            return world, "refused"
        return replace(world, goals=frozenset()), "ok"
    if kind == "contact remove":
        if not allowed or arg not in world.contacts:
            return world, "refused"
        return replace(world, contacts=world.contacts - {arg}), "ok"
    if kind == "forget":
        return (replace(world, exists=False), "ok") if allowed else (world, "refused")
    assert kind == "share"
    if not allowed or world.shared:
        return world, "refused"
    return replace(world, shared=True), "ok"


OUTCOMES = {  # what each answer says, by the model's outcome; anything else (an error) matches nothing
    "ok": ("handed from", "now owns", "Goal agreed", "Removed Kim", "Forgot Acme Corp", "Shared Acme Corp's review",
           "Met:", "Missed:"),
    "refused": ("Only Acme Corp's owner or a workspace admin", "already owned by that person",
                "already has this goal open", "has no contact named", "Already shared by", "Already being shared by",
                "has no open goal", "Say which"),
    "gone": ("No client matches", "forgotten a moment ago", "Already handled by", "already been forgotten",
             "no longer tracked"),
}


def outcome_of(text: str) -> str | None:
    found = [outcome for outcome, phrases in OUTCOMES.items() if any(p in text for p in phrases)]
    return found[0] if len(found) == 1 else None


def sender(rapport, team: str, command: Command) -> Callable[[], str]:
    kind, user, arg = command
    client = _client(rapport, team)
    assert client is not None
    lines = {"handoff": f"handoff acme corp to <@{arg}>", "owner": f"owner acme corp <@{arg}>",
             "goal": f"goal acme corp {arg} by 2027-03-31", "contact remove": f"contact acme corp {arg} remove",
             "goal met": "goal acme corp met", "goal missed": "goal acme corp missed"}
    if kind in lines:
        return lambda: rapport.command(lines[kind], user=user, team=team).text
    button = ({"action_id": "forget_confirm", "value": str(client.id)} if kind == "forget" else
              {"action_id": "review_share", "value": f"{client.id}:2026-11"})
    return lambda: rapport.click(button, user=user, team=team).text


def observed(rapport, team: str, channel: str) -> World:
    client = _client(rapport, team)
    if client is None:
        return World(exists=False, shared=_shared(rapport, channel) > 0)
    return World(owner=client.owner_id, goals=frozenset(_open_goals(rapport, client.id)),
                 contacts=frozenset(_contacts(rapport, client.id)), shared=_shared(rapport, channel) > 0,
                 handoffs=_handoffs(rapport, client.id))


def comparable(world: World) -> World:
    """A forgotten client has no owner, goals or contacts left to compare; what was shared stays shared."""
    return world if world.exists else World(exists=False, owner="", goals=frozenset(), contacts=frozenset(),
                                            shared=world.shared, handoffs=0)


def command_strategy() -> st.SearchStrategy[Command]:
    def argument(kind: str) -> st.SearchStrategy[str]:
        if kind in ("handoff", "owner"):
            return st.sampled_from(TARGETS)
        if kind == "goal":
            return st.sampled_from(("renew the contract", "open an office in Lyon"))
        if kind == "contact remove":
            return st.just("Kim")
        return st.just("")
    return st.sampled_from(KINDS).flatmap(lambda kind: st.tuples(st.just(kind), st.sampled_from(USERS),
                                                                 argument(kind)))


EXAMPLES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(kind=st.sampled_from(("handoff", "owner", "forget", "share", "goal met", "goal missed", "contact remove")),
       who=st.sampled_from(("the owner", "an admin", "someone else")), owner=st.sampled_from(USERS))
def test_the_permission_matrix_who_what_and_whose(rapport, kind, who, owner):
    team = f"TP{uuid.uuid4().hex[:6].upper()}"
    channel = _workspace(rapport, team, owner)
    user = {"the owner": owner, "an admin": ADMIN,
            "someone else": next(u for u in ("UANA", "UBEN") if u != owner)}[who]
    command: Command = (kind, user, {"handoff": "UBOB", "owner": "UBOB", "contact remove": "Kim"}.get(kind, ""))
    said = sender(rapport, team, command)()
    expected, outcome = step(World(owner=owner), command)
    assert outcome == ("ok" if who != "someone else" else "refused")
    assert outcome_of(said) == outcome, said
    if outcome == "refused":
        assert "Only Acme Corp's owner or a workspace admin" in said
    assert comparable(observed(rapport, team, channel)) == comparable(expected)


@EXAMPLES
@given(first=command_strategy(), second=command_strategy())
def test_any_two_of_the_new_commands_at_once_are_as_if_one_came_after_the_other(rapport, racing, first, second):
    team = f"TR{uuid.uuid4().hex[:6].upper()}"
    channel = _workspace(rapport, team)
    sends = [sender(rapport, team, first), sender(rapport, team, second)]
    said = together(racing, sends)
    outcomes = [outcome_of(text) for text in said]
    assert None not in outcomes, said
    world = comparable(observed(rapport, team, channel))
    serial = []
    for order in ((0, 1), (1, 0)):
        state, answers = World(), ["", ""]
        for index in order:
            state, answers[index] = step(state, (first, second)[index])
        serial.append((comparable(state), answers))
    assert (world, outcomes) in serial, (first, second, said, world)
    assert _shared(rapport, channel) <= 1  # never posted twice
