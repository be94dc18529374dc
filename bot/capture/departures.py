"""A contact leaving a linked channel (PRODUCT.md §4.13): when the client's advocate leaves a channel linked to
that client (`member_left_channel` for the Slack user the contact is tied to), it is a warning sign the same day,
on the card, in health and in the at-risk rule. One sign per contact, channel and day, however often Slack
delivers the event; only what happened is kept (who, which channel, when)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.capture.tenants import Tenant
from bot.relationship.kinds import LEFT
from bot.relationship.schedule import refresh
from storage.capture import linked_channel
from storage.contacts import contacts_for_slack_user, left_on
from storage.models import Client, Interaction

SOURCE = "event"  # not 'slack': that marks captured messages, one per message ts


def record_departure(sessions: sessionmaker[Session], tenants: list[Tenant], channel_id: str, user_id: str,
                     now: datetime) -> int:
    """For each workspace that linked the channel: a warning sign when the one who left is that client's primary
    contact. Returns how many were recorded."""
    recorded = 0
    with sessions.begin() as session:
        for tenant in tenants:
            recorded += _departure(session, tenant.workspace_id, channel_id, user_id, now)
    return recorded


def _departure(session: Session, workspace_id: int, channel_id: str, user_id: str, now: datetime) -> int:
    link = linked_channel(session, workspace_id, channel_id)
    if link is None:
        return 0
    client = session.get(Client, link.client_id)
    contact = contacts_for_slack_user(session, workspace_id, link.client_id, user_id)
    if client is None or contact is None or not contact.is_primary:
        return 0
    day = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    if left_on(session, client.id, contact.id, channel_id, day, day + timedelta(days=1)):
        return 0
    session.add(Interaction(workspace_id=workspace_id, client_id=client.id, kind=LEFT, direction=None,
                            occurred_at=now, note=None, logged_by=user_id, created_at=now, contact_id=contact.id,
                            source=SOURCE, channel_id=channel_id))
    session.flush()
    refresh(session, client, now)
    return 1
