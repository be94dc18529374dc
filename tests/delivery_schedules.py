"""Delivery under a schedule of faults, Jepsen-style (PRODUCT.md §5): several sweepers at once against the fake
Slack, which answers each post as the schedule says (429, a 5xx before anything is recorded, a 5xx or a dropped
connection or a timeout *after* the message was recorded) and fails history look-ups likewise, while clients
are forgotten with their card in flight. Then a few later passes, as the scheduler would run them, and a check
of the whole history: every due nudge in its channel exactly once, and the database agreeing with Slack.

Shared by tests/test_delivery_faults.py (a few derandomised schedules) and bench/delivery_faults.py (many).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text

from bot.database import Database
from bot.nudges import delivery
from bot.nudges.sweep import delivery_client, sweep
from bot.settings import Settings
from storage.erasure import delete_client
from storage.models import Base, Client, Nudge, Workspace
from tests.fake_slack import FakeSlack

POST_FATES = ("ok", "429", "5xx", "5xx-after", "drop", "timeout")
HISTORY_FATES = ("ok", "5xx", "drop")
CLIENTS, CHANNELS, OWNERS = 24, 3, 3
AT = datetime(2026, 11, 16, 10, tzinfo=UTC)  # a Monday, inside business hours until 17:00
CREATED = datetime(2026, 9, 1, 12, tzinfo=UTC)
BATCH = 3  # cards claimed at a time: small, so the sweepers really do deliver side by side
LATER_PASSES = 6  # hourly, the rest of the working day


@dataclass(frozen=True)
class Schedule:
    sweepers: int
    posts: tuple[str, ...]  # the fate of each chat.postMessage, in the order they arrive; "ok" after these
    histories: tuple[str, ...]  # likewise for conversations.history
    forgets: tuple[tuple[int, int], ...]  # (n, k): the n-th post in flight, its k-th nudge's client is forgotten


def random_schedule(rng: random.Random) -> Schedule:
    posts = [rng.choice(POST_FATES) for _ in range(rng.randint(0, 10))]
    first_timeout = posts.index("timeout") if "timeout" in posts else len(posts)
    posts = [p if p != "timeout" or i == first_timeout else "drop" for i, p in enumerate(posts)]  # each costs 1 s
    return Schedule(sweepers=rng.randint(2, 3), posts=tuple(posts),
                    histories=tuple(rng.choice(HISTORY_FATES) for _ in range(rng.randint(0, 4))),
                    forgets=tuple((rng.randint(0, 8), rng.randint(0, 9)) for _ in range(rng.randint(0, 2))))


def empty(database: Database) -> None:
    with database.sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(delete(table))


def seed(database: Database) -> None:
    """Clients gone quiet, over OWNERS people and CHANNELS channels: each due one nudge today."""
    with database.sessions.begin() as session:
        workspace = Workspace(team_id="T1", enterprise_id="", created_at=CREATED)
        session.add(workspace)
        session.flush()
        session.execute(insert(Client), [
            {"workspace_id": workspace.id, "name": f"Client {i:02d}", "name_key": f"client {i:02d}",
             "owner_id": f"U{i % OWNERS:02d}", "channel_id": f"C{i % CHANNELS:02d}", "status": "active",
             "created_at": CREATED, "created_by": "UANA", "next_quiet_at": AT - timedelta(days=1)}
            for i in range(CLIENTS)])


def _forget(database: Database, nudge_id: int) -> None:
    """`/client forget`, confirmed: the client and everything of it, its nudges included, are gone."""
    with database.sessions.begin() as session:
        nudge = session.get(Nudge, nudge_id)
        client = session.get(Client, nudge.client_id) if nudge is not None and nudge.client_id else None
        if client is not None:
            delete_client(session, client)


def run(database: Database, schedule: Schedule) -> list[str]:
    """Run the schedule on an empty database; returns what is wrong (nothing, if delivery kept its promises)."""
    empty(database)
    seed(database)
    fake = FakeSlack(hang_seconds=1.5)  # longer than the sweepers' 1-second timeout: an unknown outcome
    problems: list[str] = []
    lock = threading.Lock()
    posts_seen = [0]

    def on_call(method: str, params: dict[str, Any]) -> None:
        if method != "chat.postMessage":
            return
        with lock:
            n, posts_seen[0] = posts_seen[0], posts_seen[0] + 1
        ids = (((params.get("metadata") or {}).get("event_payload")) or {}).get("nudge_ids") or []
        for at, k in schedule.forgets:
            if at == n and ids:
                try:
                    _forget(database, ids[k % len(ids)])
                except Exception as exc:  # the hook runs on the fake's thread: report, don't lose it
                    problems.append(f"forgetting failed: {exc!r}")

    for fate in schedule.posts:
        fake.fail_next("chat.postMessage", fate, retry_after=0)
    for fate in schedule.histories:
        fake.fail_next("conversations.history", fate)
    fake.on_call = on_call
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url=fake.api_url,
                        digest=None, daily_focus=CLIENTS)
    batch, delivery.BATCH = delivery.BATCH, BATCH
    try:
        def sweeper(name: str, at: datetime) -> None:
            try:
                sweep(database, settings, delivery_client(settings, timeout=1), at, worker=name)
            except Exception as exc:
                problems.append(f"{name} at {at:%H:%M} failed: {exc!r}")

        threads = [threading.Thread(target=sweeper, args=(f"sweeper-{i}", AT)) for i in range(schedule.sweepers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        with database.sessions() as session:
            held = session.scalars(select(Nudge.id).where(Nudge.status == "sending")).all()
        if held:
            problems.append(f"nudges {sorted(held)} left claimed after the sweeps ended (waiting for a lease)")
        fake.on_call = None
        for hour in range(1, LATER_PASSES + 1):
            if not _outstanding(database):
                break
            sweeper("later", AT + timedelta(hours=hour))
        problems += check(database, fake)
    finally:
        delivery.BATCH = batch
        fake.close()
    return problems


def _outstanding(database: Database) -> int:
    with database.sessions() as session:
        return len(session.scalars(select(Nudge.id).where(Nudge.status != "sent")).all())


def check(database: Database, fake: FakeSlack) -> list[str]:
    """Every client still there had its nudge posted exactly once, and its row says where; a forgotten client's
    nudge was posted at most once."""
    with database.sessions() as session:
        rows = list(session.scalars(select(Nudge).order_by(Nudge.id)))
        clients = set(session.scalars(select(Client.id)))
    carriers = fake.carriers()
    problems = []
    nudged = [r.client_id for r in rows]
    for client_id in sorted(clients):
        if nudged.count(client_id) != 1:
            problems.append(f"client {client_id} has {nudged.count(client_id)} nudges, not 1")
    for row in rows:
        where = carriers.get(row.id, [])
        if len(where) != 1:
            problems.append(f"nudge {row.id} ({row.status}) is in {len(where)} messages: {where}")
        elif (row.status, row.channel_id, row.message_ts) != ("sent", *where[0]):
            problems.append(f"nudge {row.id} says {row.status} in {row.channel_id} at {row.message_ts}, "
                            f"but the message carrying it is {where[0]}")
    kept = {r.id for r in rows}
    problems += [f"forgotten nudge {i} is in {len(w)} messages" for i, w in carriers.items()
                 if i not in kept and len(w) > 1]
    return problems
