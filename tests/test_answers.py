"""The answers people wait for, made cheaper (issue 24), give exactly the answers they gave before: each new read
is checked against the straightforward query it replaced, over a seeded portfolio with the edge cases (never
heard from, equal times, nudged quiet clients, our late commitments), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from bot.bulk.demo import seed
from bot.card.client import TREND_HISTORY
from bot.relationship.health_data import health_from, health_of, history_of, warning_signs_since
from bot.relationship.kinds import WARNING_SIGNS
from bot.relationship.schedule import start_schedule
from bot.relationship.thresholds import AT_RISK_SIGNS, RHYTHM_WINDOW, WARNING_WINDOW
from storage.clients import list_clients, quiet_clients
from storage.commitments import late_signs_of
from storage.contacts import contact_facts, primary_contact
from storage.handoffs import latest_handoff_and_closeout
from storage.interactions import recent_interactions
from storage.models import Client, Closeout, Commitment, Handoff, Interaction, Workspace
from storage.signs import at_risk_clients

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CURRENT = ("active", "prospect", "paused")


def _portfolio(database) -> int:  # type: ignore[no-untyped-def]
    """300 demo clients, and the cases a page boundary or a tie would get wrong."""
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=NOW - timedelta(days=400))
        session.add(workspace)
        session.flush()
        seed(session, workspace, 300, NOW - timedelta(hours=1), owners=["UANA", "UBEN"])
        for i in range(30):  # never heard from: they come first, by name
            client = Client(workspace_id=workspace.id, name=f"Zeta {i:02d}", name_key=f"zeta {i:02d}",
                            owner_id="UANA", status="prospect" if i % 3 else "active", created_by="UANA",
                            created_at=NOW - timedelta(days=40 + i), opted_out=False, no_winback=False,
                            unanswered_count=0)
            start_schedule(client)
            session.add(client)
        clients = list(session.scalars(select(Client).where(Client.workspace_id == workspace.id,
                                                            Client.last_their_contact_at.is_not(None))
                                       .order_by(Client.id)))
        tie = NOW - timedelta(days=50)
        for client in clients[:12]:  # heard from at the very same moment: the name decides
            client.last_their_contact_at = tie
        for client in clients[12:20]:  # nudged this spell: quiet whatever next_quiet_at says
            client.quiet_nudges = 2
            client.next_quiet_at = NOW + timedelta(days=10) if client.id % 2 else None
        for n, client in enumerate(clients[20:40]):  # one sign of theirs and one of ours, or ours only
            session.add(Interaction(workspace_id=workspace.id, client_id=client.id, kind="complaint",
                                    direction="in", occurred_at=NOW - timedelta(days=3), logged_by="UANA",
                                    created_at=NOW - timedelta(days=3)))
            for late in range(1 + n % 2):
                session.add(Commitment(workspace_id=workspace.id, client_id=client.id, kind="promise", what="deck",
                                       due_on=date(2026, 12, 1), created_at=NOW - timedelta(days=20),
                                       created_by="UANA", late_since=NOW - timedelta(days=5 + late)))
        return workspace.id


def _old_list(session: Session, conditions: list, limit: int) -> tuple[list[int], int]:  # type: ignore[type-arg]
    total = session.scalar(select(func.count()).select_from(Client).where(*conditions)) or 0
    ids = session.scalars(select(Client.id).where(*conditions)
                          .order_by(Client.last_their_contact_at.asc().nulls_first(), Client.name_key).limit(limit))
    return list(ids), total


def _ids(result: tuple[list[Client], int]) -> tuple[list[int], int]:
    return [c.id for c in result[0]], result[1]


def test_list_pages_and_totals_are_what_the_sort_of_every_client_gave(database):
    workspace_id = _portfolio(database)
    with database.sessions() as session:
        mine = [Client.workspace_id == workspace_id, Client.status.in_(CURRENT), Client.owner_id == "UANA"]
        for limit in (1, 25, 40, 2000):  # within the never-heard walk, across into the heard one, and everything
            assert _ids(list_clients(session, workspace_id, statuses=CURRENT, limit=limit)) == _old_list(
                session, [Client.workspace_id == workspace_id, Client.status.in_(CURRENT)], limit)
            assert _ids(list_clients(session, workspace_id, statuses=CURRENT, owner_id="UANA", limit=limit)) == \
                _old_list(session, mine, limit)
            assert _ids(list_clients(session, workspace_id, limit=limit)) == _old_list(
                session, [Client.workspace_id == workspace_id], limit)
            assert _ids(list_clients(session, workspace_id, statuses=("former",), limit=limit)) == _old_list(
                session, [Client.workspace_id == workspace_id, Client.status == "former"], limit)


def test_the_quiet_list_and_its_total_count_nudged_clients_and_due_ones(database):
    workspace_id = _portfolio(database)
    with database.sessions() as session:
        quiet = [Client.workspace_id == workspace_id, Client.status.in_(("active", "prospect")),
                 or_(Client.quiet_nudges > 0, Client.next_quiet_at < NOW)]
        for limit in (25, 2000):
            got = _ids(quiet_clients(session, workspace_id, NOW, limit))
            assert got == _old_list(session, quiet, limit)
        assert 8 <= got[1] < 330  # the nudged ones are in, and not everyone is quiet


def test_the_at_risk_list_its_total_and_signs_are_what_grouping_every_sign_gave(database):
    workspace_id = _portfolio(database)
    since = NOW - WARNING_WINDOW
    with database.sessions() as session:
        theirs = select(Interaction.client_id.label("client_id")).where(
            Interaction.workspace_id == workspace_id, Interaction.kind.in_(WARNING_SIGNS),
            Interaction.occurred_at >= since)
        ours = select(Commitment.client_id.label("client_id")).where(
            Commitment.workspace_id == workspace_id, Commitment.done_at.is_(None), Commitment.late_since >= since)
        signs = union_all(theirs, ours).subquery()
        risk = dict(session.execute(select(signs.c.client_id, func.count()).group_by(signs.c.client_id)
                                    .having(func.count() >= AT_RISK_SIGNS)).all())
        assert len(risk) >= 20  # ours counted with theirs
        for limit in (5, 25, 2000):
            clients, total, counts = at_risk_clients(session, workspace_id, CURRENT, WARNING_SIGNS, since,
                                                     AT_RISK_SIGNS, limit)
            assert ([c.id for c in clients], total) == _old_list(
                session, [Client.workspace_id == workspace_id, Client.status.in_(CURRENT), Client.id.in_(risk)], limit)
            assert counts == {c.id: risk[c.id] for c in clients}
        assert at_risk_clients(session, workspace_id, ("paused",), WARNING_SIGNS, since, AT_RISK_SIGNS, 25) == \
            ([], 0, {})


def test_the_card_reads_history_once_and_says_what_each_read_said(database):
    workspace_id = _portfolio(database)
    with database.sessions() as session:
        clients = list(session.scalars(select(Client).where(Client.workspace_id == workspace_id)))
        health = health_of(session, clients, NOW)
        shorter = 0
        for client in clients:
            history = history_of(session, client, NOW - TREND_HISTORY, NOW)
            assert health_from(client, history, NOW) == health[client.id]
            assert warning_signs_since(history, NOW - WARNING_WINDOW) == session.scalar(
                select(func.count()).where(Interaction.client_id == client.id, Interaction.kind.in_(WARNING_SIGNS),
                                           Interaction.occurred_at >= NOW - WARNING_WINDOW))
            if len(history.interactions) >= 5:
                assert [i.id for i in history.interactions[::-1][:5]] == \
                    [i.id for i in recent_interactions(session, client.id, 5)]
            else:
                shorter += 1
        assert shorter  # some fall back to reading the recent touches themselves


def test_a_touchs_facts_in_one_statement_are_the_seven_queries_answers(database):
    workspace_id = _portfolio(database)
    checked_late = 0
    with database.sessions() as session:
        for client in session.scalars(select(Client).where(Client.workspace_id == workspace_id)):
            primary = primary_contact(session, client.id)
            facts = contact_facts(session, client.id, contacts_since=NOW - RHYTHM_WINDOW,
                                  warnings_since=NOW - 2 * WARNING_WINDOW, warning_kinds=WARNING_SIGNS,
                                  primary_contact_id=primary.id if primary else None)
            mine = Interaction.client_id == client.id
            theirs = Interaction.direction.in_(("in", "both"))
            last = session.execute(select(Interaction.occurred_at, Interaction.direction)
                                   .where(mine, Interaction.direction.is_not(None))
                                   .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(1)).first()
            last_their = session.scalar(select(func.max(Interaction.occurred_at)).where(mine, theirs))
            outs = select(Interaction.occurred_at).where(mine, Interaction.direction == "out")
            if last_their is not None:
                outs = outs.where(Interaction.occurred_at > last_their)
            assert (facts.last_contact_at, facts.last_contact_direction) == (tuple(last) if last else (None, None))
            assert facts.last_their_contact_at == last_their
            assert facts.last_checkin_at == session.scalar(
                select(func.max(Interaction.occurred_at)).where(mine, Interaction.kind == "checkin"))
            assert facts.unanswered == list(session.scalars(outs.order_by(Interaction.occurred_at)))
            assert facts.their_contacts_since == sorted(session.scalars(
                select(Interaction.occurred_at).where(mine, theirs, Interaction.occurred_at >= NOW - RHYTHM_WINDOW)))
            assert facts.warning_signs_since == sorted(session.scalars(
                select(Interaction.occurred_at).where(mine, Interaction.kind.in_(WARNING_SIGNS),
                                                      Interaction.occurred_at >= NOW - 2 * WARNING_WINDOW)))
            assert facts.last_primary_contact_at == (session.scalar(
                select(func.max(Interaction.occurred_at)).where(mine, theirs, Interaction.contact_id == primary.id))
                if primary else None)
            late = late_signs_of(session, [client.id], NOW - 2 * WARNING_WINDOW).get(client.id, [])
            assert facts.late_since == sorted(at for _, at in late)
            checked_late += bool(late)
    assert checked_late  # the portfolio's late commitments were among them


def test_a_cards_latest_handoff_and_closeout_come_back_together_or_alone(database):
    workspace_id = _portfolio(database)
    with database.sessions.begin() as session:
        first, second, third = session.scalars(select(Client.id).where(Client.workspace_id == workspace_id)
                                               .order_by(Client.id).limit(3)).all()
        for days, to_user in ((30, "UBEN"), (10, "UCAT")):  # the later one is the latest
            session.add(Handoff(workspace_id=workspace_id, client_id=first, from_user="UANA", to_user=to_user,
                                at=NOW - timedelta(days=days), by="UANA"))
        session.add(Closeout(workspace_id=workspace_id, client_id=second, note="first", opened_by="UANA",
                             opened_at=NOW - timedelta(days=40), done_at=NOW - timedelta(days=35)))
        session.flush()  # one open closeout a client: the first is done, the second still open
        session.add(Closeout(workspace_id=workspace_id, client_id=second, note="second", opened_at=NOW,
                             opened_by="UANA"))
    with database.sessions() as session:
        handoff, closeout = latest_handoff_and_closeout(session, first)
        assert handoff is not None and handoff.to_user == "UCAT" and closeout is None
        handoff, closeout = latest_handoff_and_closeout(session, second)
        assert handoff is None and closeout is not None and closeout.note == "second"
        assert latest_handoff_and_closeout(session, third) == (None, None)
