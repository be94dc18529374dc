"""`rapport seed-demo`: a year of believable agency history, fast enough for benchmark-sized workspaces.

History is generated in memory per client and written in bulk; each client's derived facts and nudge
schedule are computed from that same history with the same rules the app uses (bot.nudges.rules), so a seeded
workspace behaves exactly like one built by hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.nudges import rules
from bot.relationship.facts import next_checkin
from bot.relationship.kinds import LOGGED_WARNING_SIGNS, WARNING_SIGNS
from storage.counts import fold_client_counts
from storage.models import Client, Contact, Interaction, Referral, Workspace
from storage.names import name_key, normalize_name

FIRST = ("Northwind", "Blue Harbor", "Juniper", "Copperline", "Silverleaf", "Atlas", "Brightwater", "Cedar",
         "Evergreen", "Foxglove", "Granite", "Harbor", "Ironwood", "Kestrel", "Lumen", "Meridian", "Oakridge",
         "Pinecrest", "Quarry", "Redwood", "Summit", "Tidewater", "Umber", "Vantage", "Willow", "Zephyr")
SECOND = ("Analytics", "Foods", "Logistics", "Health", "Studios", "Capital", "Energy", "Labs", "Retail",
          "Partners", "Robotics", "Media", "Legal", "Dental", "Architects", "Bakery", "Outfitters", "Travel")
PEOPLE = ("Ana", "Ben", "Chloe", "Dev", "Ema", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Luis", "Maya",
          "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq")
SURNAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Reyes", "Fischer", "Kowalski", "Haddad", "Nguyen")
NOTES = ("talked through next quarter's plan", "asked about pricing for the add-on", "quick catch-up",
         "walked them through the report", "they raised a concern about timelines", "coffee, mostly personal",
         "reviewed the roadmap together", "followed up on the proposal")
# (share of clients, what their year looks like)
ARCHETYPES = (
    (0.30, "healthy"), (0.15, "steady"), (0.15, "quiet"), (0.10, "unanswered"), (0.08, "at_risk"),
    (0.07, "referring"), (0.10, "former"), (0.05, "prospect"),
)
CONTACT_KINDS = ("call", "meeting", "email", "message", "visit")


@dataclass
class SeedReport:
    clients: int
    interactions: int
    referrals: int


def _archetype(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for share, name in ARCHETYPES:
        total += share
        if roll < total:
            return name
    return "healthy"


def _history(rng: random.Random, kind: str, start: datetime, now: datetime, per_client: int
             ) -> list[tuple[datetime, str, str | None, str | None]]:
    """(when, kind, direction, note) for one client's year, shaped by its archetype."""
    events: list[tuple[datetime, str, str | None, str | None]] = []
    span = (now - start).days
    last_day = span - {"quiet": rng.randint(45, 120), "former": rng.randint(100, 200),
                       "unanswered": rng.randint(20, 40)}.get(kind, rng.randint(0, 10))
    for _ in range(per_client):
        day = rng.randint(0, max(1, last_day))
        events.append((start + timedelta(days=day, hours=rng.randint(8, 18)), rng.choice(CONTACT_KINDS),
                       rng.choice(("both", "both", "in", "out")), rng.choice(NOTES) if rng.random() < 0.4 else None))
    if kind in ("healthy", "referring"):
        for signal in rng.sample(("help", "acted", "strategic", "early", "forgave", "praise"), 3):
            events.append((now - timedelta(days=rng.randint(5, 150)), signal, "in", None))
    if kind == "unanswered":
        for back in (rng.randint(10, 14), rng.randint(5, 9), rng.randint(1, 4)):
            events.append((now - timedelta(days=back), "email", "out", "no reply yet"))
    if kind == "at_risk":
        for back in (rng.randint(2, 12), rng.randint(13, 25)):
            events.append((now - timedelta(days=back), rng.choice(LOGGED_WARNING_SIGNS), "in", None))
    events.sort(key=lambda event: event[0])
    return events


def _schedule(row: dict[str, Any], events: list[tuple[datetime, str, str | None, str | None]],
              now: datetime) -> None:
    """The derived facts bot.relationship.schedule.refresh would compute, from the history we just made."""
    theirs = [t for t, _, d, _ in events if d in ("in", "both")]
    contacts = [(t, d) for t, _, d, _ in events if d]
    last_their = max(theirs, default=None)
    outs = [t for t, _, d, _ in events if d == "out" and (last_their is None or t > last_their)]
    threshold = rules.quiet_threshold(None, theirs, now)
    row.update(
        last_contact_at=contacts[-1][0] if contacts else None,
        last_contact_direction=contacts[-1][1] if contacts else None,
        last_their_contact_at=last_their,
        unanswered_count=len(outs), unanswered_since=outs[0] if outs else None,
        last_warning_at=max((t for t, k, _, _ in events if k in WARNING_SIGNS), default=None),
        quiet_threshold_days=threshold.days, quiet_threshold_how=threshold.how, quiet_nudges=0,
        next_quiet_at=rules.first_quiet_due(last_their or row["created_at"], threshold),
        next_unanswered_at=rules.unanswered_due(outs),
        next_at_risk_at=now if rules.at_risk_episode([t for t, k, _, _ in events if k in WARNING_SIGNS], now)
        else None,
    )


def _names(rng: random.Random) -> Iterator[str]:
    seen: set[str] = set()
    while True:
        base = normalize_name(f"{rng.choice(FIRST)} {rng.choice(SECOND)}")  # stored as any typed name is
        name = base
        number = 2
        while name_key(name) in seen:
            name, number = f"{base} {number}", number + 1
        seen.add(name_key(name))
        yield name


def seed(session: Session, workspace: Workspace, clients: int, now: datetime, *, owners: list[str],
         per_client: int = 10, seed_value: int = 42, progress: Callable[[int], object] = lambda _: None) -> SeedReport:
    rng = random.Random(seed_value)
    names = _names(rng)
    taken = set(session.scalars(select(Client.name_key).where(Client.workspace_id == workspace.id)))
    created = interactions = referrals = 0
    batch_clients: list[dict[str, Any]] = []
    batch_events: list[list[tuple[datetime, str, str | None, str | None]]] = []
    batch_referring: list[bool] = []
    referring: list[int] = []

    def flush() -> None:
        nonlocal interactions
        if not batch_clients:
            return
        ids = list(session.scalars(insert(Client).returning(Client.id, sort_by_parameter_order=True), batch_clients))
        rows, contacts = [], []
        for client_id, row, events, refers in zip(ids, batch_clients, batch_events, batch_referring, strict=True):
            rows += [{"workspace_id": workspace.id, "client_id": client_id, "kind": k, "direction": d,
                      "occurred_at": t, "note": n, "logged_by": row["owner_id"], "created_at": t}
                     for t, k, d, n in events]
            person = normalize_name(f"{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}")
            contacts.append({"workspace_id": workspace.id, "client_id": client_id, "is_primary": True,
                             "role": "primary", "name": person, "name_key": name_key(person),
                             "created_at": row["created_at"]})
            if refers:
                referring.append(client_id)
        session.execute(insert(Interaction), rows)
        session.execute(insert(Contact), contacts)
        interactions += len(rows)
        progress(len(batch_clients))
        batch_clients.clear()
        batch_events.clear()
        batch_referring.clear()

    while created < clients:
        name = next(names)
        if name_key(name) in taken:
            continue
        kind = _archetype(rng)
        start = now - timedelta(days=rng.randint(200, 365))
        events = _history(rng, kind, start, now, per_client)
        row: dict[str, Any] = {
            "workspace_id": workspace.id, "name": name, "name_key": name_key(name), "owner_id": rng.choice(owners),
            "status": "prospect" if kind == "prospect" else "former" if kind == "former" else "active",
            "created_at": start, "created_by": "rapport-demo", "opted_out": False, "no_winback": False,
            "channel_id": None,
            "checkin_count": rng.choice((2, 4)) if rng.random() < 0.3 else None, "checkin_unit": None,
            "checkin_set_at": None, "winback_nudges": 0, "next_winback_at": None, "ended_at": None,
        }
        if row["checkin_count"] and kind not in ("former", "prospect"):
            # a rhythm kept up until recently: the last check-in falls somewhere in the last cycle or so
            last = now - timedelta(days=rng.randint(1, row["checkin_count"] * 7 + 4))
            events.append((last, "checkin", "both", "How are they feeling? " + rng.choice(("Good.", "Mostly happy.",
                                                                                          "Some worries on scope."))))
            events.sort(key=lambda event: event[0])
            row.update(checkin_unit="w", checkin_set_at=start, _last_checkin=last)
        else:
            row["checkin_count"] = None
        if kind == "former":
            row["ended_at"] = now - timedelta(days=rng.randint(30, 150))
            row["next_winback_at"] = rules.winback_start(row["ended_at"], False, False)
        _schedule(row, events, now)
        last_checkin = row.pop("_last_checkin", None)
        row["last_checkin_at"] = last_checkin
        row["next_checkin_at"] = next_checkin(_Facts(row)) if row["checkin_count"] else None
        row["next_advocate_at"] = None
        row["last_primary_contact_at"] = None
        batch_clients.append(row)
        batch_events.append(events)
        batch_referring.append(kind == "referring")
        created += 1
        if len(batch_clients) >= 2000:
            flush()
    flush()
    referral_rows = []
    for referrer in referring:
        referred = rng.randrange(len(referring) or 1)
        if referring and referring[referred] != referrer:
            logged = now - timedelta(days=rng.randint(1, 20))
            referral_rows.append({"workspace_id": workspace.id, "referrer_id": referrer,
                                  "referred_id": referring[referred], "logged_by": "rapport-demo",
                                  "created_at": logged, "thank_nudges": 0,
                                  "next_nudge_at": rules.thank_due(logged, 0)})
    if referral_rows:
        session.execute(insert(Referral), referral_rows)
        referrals = len(referral_rows)
    fold_client_counts(session, workspace.id)  # a row per client added: summed now, not by the first sweep
    return SeedReport(created, interactions, referrals)


class _Facts:
    """Just enough of a Client for next_checkin() on a row that is not an ORM object yet."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.checkin_count = row["checkin_count"]
        self.checkin_unit = row["checkin_unit"]
        self.checkin_set_at = row["checkin_set_at"]
        self.last_checkin_at = row["last_checkin_at"]
        self.created_at = row["created_at"]
