"""Writing captured touches (PRODUCT.md §4.15): each once per client however often its message arrives, and what
they change written once per client per transaction through the one recording path (bot/relationship/record.py),
so a captured email or meeting counts wherever a logged one does."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.people.heads_up import close as close_heads_up
from bot.relationship.record import touched
from bot.relationship.schedule import refresh
from storage.mail import MAIL, MAILER, insert_mail_touch
from storage.models import Client, Interaction

# A touch older than this when it is written is history (a backfilled mailbox, an invitation long past): it
# answers no card posted today.
ANSWERS_CARDS = timedelta(days=1)
# How a captured touch reads where it closed a card ("Rapport saw an email from them")
WORDS = {"in": "saw an email from them", "out": "saw an email to them", "both": "saw a meeting with them",
         "cancel": "saw them cancel at the last minute"}


def digest(*parts: str) -> str:
    """What a captured touch keeps of where it came from: a digest, never the Message-ID or UID itself."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass
class _Touched:
    latest: datetime | None = None  # None: only taken away (a cancelled or moved meeting), nothing written
    ours: datetime | None = None  # the latest touch from our side: news on an open issue
    advocate: datetime | None = None  # the latest touch with the primary contact
    kind: str = "in"

    def merge(self, other: _Touched) -> None:
        if other.latest is not None and (self.latest is None or other.latest >= self.latest):
            self.latest, self.kind = other.latest, other.kind
        self.ours = max((t for t in (self.ours, other.ours) if t is not None), default=None)
        self.advocate = max((t for t in (self.advocate, other.advocate) if t is not None), default=None)


@dataclass
class Pending:
    """The clients touched (by id, so a backfill may carry it from one transaction to the next); `settle` brings
    each up to date once, at the end."""

    clients: dict[int, _Touched] = field(default_factory=dict)

    def add(self, client: Client, direction: str, at: datetime, *, primary: bool = False, words: str = "") -> None:
        held = self.clients.setdefault(client.id, _Touched())
        if held.latest is None or at >= held.latest:
            held.latest, held.kind = at, words or direction
        if direction in ("out", "both") and (held.ours is None or at > held.ours):
            held.ours = at
        if primary and (held.advocate is None or at > held.advocate):
            held.advocate = at

    def refresh(self, client: Client) -> None:
        """A touch of this client's was taken back or moved: its facts are worked out again at the end."""
        self.clients.setdefault(client.id, _Touched())


def write(session: Session, client: Client, kind: str, direction: str, at: datetime, mail_digest: str,
          contact_id: int | None, now: datetime, known: set[tuple[int, str]] | None = None) -> bool:
    """One captured touch; False when this client already has it (the same message again, however it came).
    `known`: every (client, digest) recorded so far, kept by a caller that read them all first (a backfill's
    batch): rows are added for the session to write together, and a concurrent writer's copy fails the whole
    batch, which runs again the careful way."""
    values = {"workspace_id": client.workspace_id, "client_id": client.id, "kind": kind, "direction": direction,
              "occurred_at": at, "note": None, "logged_by": MAILER, "created_at": now, "contact_id": contact_id,
              "source": MAIL, "mail_digest": mail_digest}
    if known is None:
        return insert_mail_touch(session, values)
    if (client.id, mail_digest) in known:
        return False
    known.add((client.id, mail_digest))
    session.add(Interaction(**values))
    return True


def settle(session: Session, pending: Pending, now: datetime, limit: int | None = None) -> None:
    """Each touched client once (`limit` of them at most), in id order (two transactions lock the clients they
    share in one order)."""
    for client_id in sorted(pending.clients)[:limit]:
        held = pending.clients.pop(client_id)
        client = session.get(Client, client_id)
        if client is None:  # forgotten meanwhile
            continue
        if held.latest is None:
            refresh(session, client, now)
            continue
        direction = "out" if held.ours is not None else "in"
        at = held.ours or held.latest
        touched(session, client, direction, at, WORDS.get(held.kind, WORDS["in"]), MAILER, now,
                close_cards=held.latest >= now - ANSWERS_CARDS)
        if held.advocate is not None and client.heads_up_since is not None and held.advocate >= client.heads_up_since:
            close_heads_up(client)  # the advocate heard from us, or we from them: no heads-up is owed
