"""Queries for capture from Slack (PRODUCT.md §4.9): linked channels and the touches their messages make.

Each takes the caller's session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from storage.due import due_page
from storage.models import Client, Interaction, LinkedChannel, Workspace
from storage.types import rows_changed

CAPTURED = "slack"


def linked_channel(session: Session, workspace_id: int, channel_id: str) -> LinkedChannel | None:
    stmt = select(LinkedChannel).where(LinkedChannel.workspace_id == workspace_id,
                                       LinkedChannel.channel_id == channel_id)
    return session.scalars(stmt).one_or_none()


_LINKS_OF = (select(LinkedChannel).where(LinkedChannel.client_id == bindparam("client_id"))
             .order_by(LinkedChannel.id))  # built once: every card reads it


def links_of(session: Session, client_id: int) -> list[LinkedChannel]:
    return list(session.scalars(_LINKS_OF, {"client_id": client_id}))


def touch_near(session: Session, client_id: int, direction: str, at: datetime, within: timedelta) -> bool:
    """Whether a message captured from this side already stands for this client within `within` of `at`."""
    stmt = select(Interaction.id).where(
        Interaction.client_id == client_id, Interaction.source == CAPTURED, Interaction.direction == direction,
        Interaction.occurred_at > at - within, Interaction.occurred_at < at + within)
    return session.scalar(stmt.limit(1)) is not None


def captured_touch(session: Session, workspace_id: int, channel_id: str, message_ts: str) -> Interaction | None:
    stmt = select(Interaction).where(Interaction.workspace_id == workspace_id, Interaction.source == CAPTURED,
                                     Interaction.channel_id == channel_id, Interaction.message_ts == message_ts)
    return session.scalars(stmt).one_or_none()


def set_permalink(session: Session, workspace_id: int, channel_id: str, message_ts: str, permalink: str) -> None:
    """Where one workspace's captured message (or a question waiting in that channel) can be opened."""
    session.execute(update(Interaction).where(Interaction.workspace_id == workspace_id,
                                              Interaction.channel_id == channel_id,
                                              Interaction.message_ts == message_ts,
                                              Interaction.permalink.is_(None)).values(permalink=permalink))
    session.execute(update(LinkedChannel).where(LinkedChannel.workspace_id == workspace_id,
                                                LinkedChannel.channel_id == channel_id,
                                                LinkedChannel.asked_ts == message_ts).values(asked_permalink=permalink))


def set_shared(session: Session, workspace_ids: Sequence[int], channel_id: str, shared: bool) -> int:
    """Slack says a channel was shared with another workspace or stopped being, as these workspaces see it."""
    if not workspace_ids:
        return 0
    result = session.execute(update(LinkedChannel).where(LinkedChannel.workspace_id.in_(list(workspace_ids)),
                                                         LinkedChannel.channel_id == channel_id).values(shared=shared))
    return rows_changed(result)


def linking_workspaces(session: Session, channel_id: str) -> list[Workspace]:
    """The installed workspaces that linked a channel id to a client. A Slack Connect channel has one id in every
    organisation, so several may have linked the same one."""
    stmt = (select(Workspace).join(LinkedChannel, LinkedChannel.workspace_id == Workspace.id)
            .where(LinkedChannel.channel_id == channel_id, Workspace.uninstalled_at.is_(None))
            .order_by(Workspace.id))
    return list(session.scalars(stmt))


def due_replies(session: Session, asked_before: datetime, *, after: tuple[datetime, int] | None = None,
                limit: int | None = None, workspace_id: int | None = None) -> list[tuple[LinkedChannel, Client]]:
    """Linked channels whose client's question has waited at least since `asked_before` (a calendar bound;
    the rule checks business hours), with their clients, for planning (storage.due.due_page)."""
    return due_page(session, LinkedChannel, asked_before, [], after=after, limit=limit, workspace_id=workspace_id,
                    due=LinkedChannel.next_reply_at)


def linked_by_ids(session: Session, ids: Sequence[int]) -> dict[int, LinkedChannel]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(LinkedChannel).where(LinkedChannel.id.in_(list(ids))))}


def unlink(session: Session, link: LinkedChannel) -> None:
    session.execute(delete(LinkedChannel).where(LinkedChannel.id == link.id))
