"""The audit trail: who did what to which client, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    AuditEvent,
)


def add_audit_event(session: Session, workspace_id: int, client_id: int | None, actor_id: str, action: str,
                    detail: str, at: datetime) -> None:
    session.add(AuditEvent(workspace_id=workspace_id, client_id=client_id, actor_id=actor_id, action=action,
                           detail=detail, at=at))


def audit_events(session: Session, workspace_id: int, client_id: int | None = None, *,
                 limit: int | None = None) -> list[AuditEvent]:
    """Newest first; one client's, or the whole workspace's."""
    stmt = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    stmt = stmt.order_by(AuditEvent.id.desc())
    return list(session.scalars(stmt.limit(limit) if limit else stmt))


def forgotten_event(session: Session, workspace_id: int, client_id: int) -> AuditEvent | None:
    """Who forgot a client, and when: the one entry forgetting leaves behind."""
    stmt = (select(AuditEvent).where(AuditEvent.workspace_id == workspace_id, AuditEvent.client_id == client_id,
                                     AuditEvent.action == "forgotten").order_by(AuditEvent.id.desc()).limit(1))
    return session.scalars(stmt).first()
