"""A linked channel's messages as touches, and the client's questions waiting for an answer (PRODUCT.md §4.9).

In a channel shared with the client's workspace (Slack Connect), every person's message is a touch: from a
member of another workspace `in`, from one of ours `out`, at most one a side a client an hour. A message from
them opens a question waiting for an answer from our side; any message of ours there answers it. A channel with
no external members is talk about the client, not with them. Only who, when, where and the message's link are
kept, never its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.capture.events import DELETED, SlackMessage
from bot.capture.tenants import Tenant
from bot.nudges.cards import message_updates
from bot.people.heads_up import close as close_heads_up
from bot.relationship.cards import UPDATES
from bot.relationship.record import touched
from bot.relationship.schedule import refresh
from bot.slack.message_updates import MessageUpdate
from storage.capture import CAPTURED, captured_touch, linked_channel, set_permalink, set_shared, touch_near
from storage.contacts import contacts_for_slack_user
from storage.db import reading
from storage.models import Client, Interaction, LinkedChannel

TOUCH_SPACING = timedelta(hours=1)  # at most one touch a side a client an hour
WORDS = {"in": "heard from them in Slack", "out": "talked with them in Slack"}


@dataclass
class Captured:
    touched: bool = False  # a touch was written or removed
    link_needed: bool = False  # this message is now a touch or a waiting question: fetch its permalink
    updates: list[MessageUpdate] = field(default_factory=list)


def side_of(our_team: str, author_team: str | None) -> str | None:
    """'in' for a member of another workspace, 'out' for one of ours, None when nobody can tell."""
    if author_team is None:
        return None
    return "out" if author_team == our_team else "in"


@dataclass(frozen=True)
class Decision:
    """What one message changes. Worked out twice: first while only reading, so that the many messages that
    change nothing (a second one within the hour, a question already waiting) never take the write lock."""
    shared: bool  # whether the channel is shared with the client's workspace, after this message
    forget: bool = False  # a deleted message: its touch and its waiting question go
    touch: str | None = None  # the side of a touch to write
    ask: bool = False  # a question from them now waits for an answer
    answer: bool = False  # our message answers the question waiting

    def changes(self, link: LinkedChannel) -> bool:
        return self.shared != link.shared or self.forget or self.touch is not None or self.ask or self.answer


def decide(session: Session, tenant: Tenant, link: LinkedChannel, message: SlackMessage,
           author_team: str | None) -> Decision:
    shared = link.shared if message.shared is None else message.shared  # Slack's envelope says what it is now
    if message.subtype == DELETED and message.deleted_ts:
        return Decision(shared=shared, forget=True)
    side = side_of(tenant.team_id, author_team)  # whose side is per workspace: ours for one is theirs for another
    if not message.is_person or not shared or side is None:
        return Decision(shared=shared)  # a bot, a join, an edit; internal talk; or an author we cannot place
    touch = None if touch_near(session, link.client_id, side, message.at, TOUCH_SPACING) else side
    return Decision(shared=shared, touch=touch, ask=side == "in" and link.asked_at is None,
                    answer=side == "out" and link.asked_at is not None and message.at >= link.asked_at)


def record_message(session: Session, tenant: Tenant, message: SlackMessage, author_team: str | None,
                   now: datetime) -> Captured:
    """One message, for one workspace that linked its channel: everything it writes is that workspace's."""
    result = Captured()
    link = linked_channel(session, tenant.workspace_id, message.channel)
    if link is None:
        return result  # not a channel this workspace linked to a client
    client = session.get(Client, link.client_id)
    if client is None:
        return result
    decision = decide(session, tenant, link, message, author_team)
    link.shared = decision.shared
    if decision.forget:
        assert message.deleted_ts is not None
        result.touched = _forget(session, link, client, message.deleted_ts, now)
        return result
    contact = contacts_for_slack_user(session, tenant.workspace_id, client.id, message.user) \
        if decision.touch is not None and message.user else None
    if decision.touch is not None and _write(session, tenant.workspace_id, client, message, decision.touch,
                                             contact.id if contact else None):
        touched(session, client, decision.touch, message.at, WORDS[decision.touch], message.user or "", now)
        if contact is not None and contact.is_primary and client.heads_up_since is not None \
                and message.at >= client.heads_up_since:
            close_heads_up(client)  # the advocate spoke with us: the heads-up is no longer owed
        result.touched = result.link_needed = True
    if decision.ask:
        link.asked_at, link.asked_by, link.asked_ts, link.next_reply_at = message.at, message.user, message.ts, \
            message.at
        result.link_needed = True
    elif decision.answer:
        _answered(link)
    if session.info.get(UPDATES):
        result.updates = message_updates(session, tenant.workspace_id)
    return result


def _write(session: Session, workspace_id: int, client: Client, message: SlackMessage, side: str,
           contact_id: int | None = None) -> bool:
    """`contact_id`: the client's contact tied to the author's Slack user, so the touch is "with" them."""
    touch = Interaction(workspace_id=workspace_id, client_id=client.id, kind="message", direction=side,
                        occurred_at=message.at, note=None, logged_by=message.user or "", created_at=message.at,
                        source=CAPTURED, channel_id=message.channel, message_ts=message.ts, contact_id=contact_id)
    try:
        with session.begin_nested():
            session.add(touch)
    except IntegrityError:  # the same message delivered again: it is already a touch
        return False
    return True


def _answered(link: LinkedChannel) -> None:
    link.asked_at = link.asked_by = link.asked_ts = link.asked_permalink = link.next_reply_at = None


def _forget(session: Session, link: LinkedChannel, client: Client, ts: str, now: datetime) -> bool:
    """A deleted message takes its touch (and its waiting question) with it."""
    if link.asked_ts == ts:
        _answered(link)
    touch = captured_touch(session, link.workspace_id, link.channel_id, ts)
    if touch is None:
        return False
    session.delete(touch)
    session.flush()
    refresh(session, client, now)
    return True


def capture(sessions: sessionmaker[Session], tenant: Tenant, message: SlackMessage, author_team: str | None,
            now: datetime) -> Captured:
    """One message event for one workspace, in one short transaction; a message that changes nothing (a second
    message within the hour) costs a read, not the write lock."""
    with reading(sessions) as session:
        link = linked_channel(session, tenant.workspace_id, message.channel)
        if link is None or not decide(session, tenant, link, message, author_team).changes(link):
            return Captured()
    with sessions.begin() as session:
        return record_message(session, tenant, message, author_team, now)


def remember_permalink(sessions: sessionmaker[Session], tenant: Tenant, channel_id: str, message_ts: str,
                       permalink: str) -> None:
    with sessions.begin() as session:
        set_permalink(session, tenant.workspace_id, channel_id, message_ts, permalink[:300])


def channel_sharing(sessions: sessionmaker[Session], tenants: list[Tenant], channel_id: str, shared: bool) -> None:
    """channel_shared / channel_unshared, for the workspaces Slack told: from now on its messages count as
    touches there, or no longer do."""
    with sessions.begin() as session:
        set_shared(session, [t.workspace_id for t in tenants], channel_id, shared)
