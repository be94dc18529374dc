"""Nudges as the rest of the product reads them: a client's open cards, a card's rows, what went out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    bindparam,
    or_,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Interaction,
    Nudge,
)

_RECENT_NUDGES = select(Nudge).where(
    Nudge.client_id == bindparam("client_id"),
    Nudge.handled_at.is_(None),
    or_(Nudge.status.in_(("pending", "sending", "unknown")),
        (Nudge.status == "sent") & (Nudge.sent_at >= bindparam("sent_since"))),
).order_by(Nudge.due_at)


def unsent_kind(session: Session, client_ids: Sequence[int], kind: str) -> set[int]:
    """Which of these clients have a nudge of this kind not posted yet."""
    if not client_ids:
        return set()
    stmt = select(Nudge.client_id).where(Nudge.client_id.in_(list(client_ids)), Nudge.kind == kind,
                                         Nudge.status.in_(("pending", "sending", "unknown")))
    return {client_id for client_id in session.scalars(stmt) if client_id is not None}


def has_unsent_nudge(session: Session, client_id: int, kind: str) -> bool:
    stmt = select(Nudge.id).where(Nudge.client_id == client_id, Nudge.kind == kind,
                                  Nudge.status.in_(("pending", "sending", "unknown")))
    return session.scalar(stmt.limit(1)) is not None


def recent_nudges(session: Session, client_id: int, sent_since: datetime) -> list[Nudge]:
    """Nudges nobody has acted on: still waiting to go out, or posted since `sent_since`."""
    return list(session.scalars(_RECENT_NUDGES, {"client_id": client_id, "sent_since": sent_since}))


def get_nudge(session: Session, workspace_id: int, nudge_id: int) -> Nudge | None:
    stmt = select(Nudge).where(Nudge.workspace_id == workspace_id, Nudge.id == nudge_id)
    return session.scalars(stmt).one_or_none()


def nudges_in_message(session: Session, workspace_id: int, channel_id: str, message_ts: str) -> list[Nudge]:
    stmt = select(Nudge).where(Nudge.workspace_id == workspace_id, Nudge.channel_id == channel_id,
                               Nudge.message_ts == message_ts).order_by(Nudge.id)
    return list(session.scalars(stmt))


def clients_with_open_nudges(session: Session, client_ids: Sequence[int], sent_since: datetime) -> set[int]:
    """Of these clients, those with a nudge nobody has acted on yet (waiting, or posted recently)."""
    found: set[int] = set()
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        stmt = select(Nudge.client_id).where(
            Nudge.client_id.in_(ids[start:start + 500]),
            Nudge.handled_at.is_(None),
            or_(Nudge.status.in_(("pending", "sending", "unknown")),
                (Nudge.status == "sent") & (Nudge.sent_at >= sent_since)),
        )
        found.update(session.scalars(stmt))
    return found


def client_id_of_nudge(session: Session, workspace_id: int, nudge_id: int) -> int | None:
    """Whose a nudge is, read without loading it, so that it is first loaded after the client's lock."""
    return session.scalar(select(Nudge.client_id).where(Nudge.workspace_id == workspace_id, Nudge.id == nudge_id))


def last_handled_nudge(session: Session, client_id: int) -> Nudge | None:
    """The client's nudge someone acted on most recently."""
    stmt = (select(Nudge).where(Nudge.client_id == client_id, Nudge.handled_at.is_not(None))
            .order_by(Nudge.handled_at.desc(), Nudge.id.desc()).limit(1))
    return session.scalars(stmt).first()


def out_kinds_since(session: Session, since: dict[int, datetime]) -> dict[int, dict[str, int]]:
    """Per client, how many touches of each kind we made since the given moment (its unanswered streak): what a
    card says as "no reply to 2 emails and a call"."""
    found: dict[int, dict[str, int]] = {}
    ids = list(since)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        stmt = select(Interaction.client_id, Interaction.kind, Interaction.occurred_at).where(
            Interaction.client_id.in_(chunk), Interaction.direction == "out",
            Interaction.occurred_at >= min(since[i] for i in chunk))
        for client_id, kind, at in session.execute(stmt):
            if at >= since[client_id]:
                kinds = found.setdefault(client_id, {})
                kinds[kind] = kinds.get(kind, 0) + 1
    return found
