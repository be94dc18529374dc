"""Workspaces: finding one by its team, installs, and those waiting to be erased."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    Workspace,
)

# Workspaces whose app is installed: an uninstalled one gets no nudges while it waits to be erased.
INSTALLED = select(Workspace.id).where(Workspace.uninstalled_at.is_(None))


# Statements every answer runs are built once, their values passed as parameters: building a statement costs
# SQLAlchemy about a third of what running it does (bench/answer_profile.py, issue 24).
# A workspace is its team: Slack keeps a team's id when it moves the team into an Enterprise Grid org, and from then
# on its requests carry the org's id too (PRODUCT.md §8). The row whose enterprise id matches comes first.
_WORKSPACE = (select(Workspace).where(Workspace.team_id == bindparam("team"))
              .order_by((Workspace.enterprise_id == bindparam("enterprise")).desc(), Workspace.id).limit(1))


def find_workspace(session: Session, team_id: str, enterprise_id: str | None) -> Workspace | None:
    """The workspace of a team, whatever Enterprise Grid org a request says it is in now (see _WORKSPACE)."""
    return session.scalars(_WORKSPACE, {"team": team_id, "enterprise": enterprise_id or ""}).first()


def get_or_create_workspace(session: Session, team_id: str, enterprise_id: str | None, now: datetime) -> Workspace:
    enterprise = enterprise_id or ""
    workspace = find_workspace(session, team_id, enterprise)
    if workspace is not None:
        if enterprise and workspace.enterprise_id != enterprise:
            joined_grid(workspace, enterprise)
        return workspace
    try:
        # a savepoint: two first-ever requests from one team may race to create it
        with session.begin_nested():
            workspace = Workspace(team_id=team_id, enterprise_id=enterprise, created_at=now)
            session.add(workspace)
        return workspace
    except IntegrityError:
        return session.scalars(_WORKSPACE, {"team": team_id, "enterprise": enterprise}).one()


def joined_grid(workspace: Workspace, enterprise_id: str) -> None:
    """The workspace is now part of an Enterprise Grid org (its team id kept): it keeps everything, takes the org's
    id, and a migration that was under way is over (PRODUCT.md §8)."""
    workspace.enterprise_id = enterprise_id
    workspace.grid_migration_at = None


def all_workspaces(session: Session) -> list[Workspace]:
    """Installed workspaces only."""
    return list(session.scalars(select(Workspace).where(Workspace.uninstalled_at.is_(None)).order_by(Workspace.id)))


def get_workspace(session: Session, workspace_id: int) -> Workspace | None:
    return session.get(Workspace, workspace_id)


def workspaces_for_install(session: Session, enterprise_id: str | None, team_id: str | None) -> list[Workspace]:
    """The workspaces an installation covers: one team (by its id alone: a team moved into an Enterprise Grid org
    keeps it), or every team of an organisation-wide install."""
    stmt = (select(Workspace).where(Workspace.team_id == team_id) if team_id else
            select(Workspace).where(Workspace.enterprise_id == (enterprise_id or "")))
    return list(session.scalars(stmt.order_by(Workspace.id)))


def workspaces_uninstalled_before(session: Session, cutoff: datetime) -> list[Workspace]:
    return list(session.scalars(select(Workspace).where(Workspace.uninstalled_at <= cutoff).order_by(Workspace.id)))


def uninstalled_count(session: Session) -> int:
    """Workspaces Slack says uninstalled Rapport or revoked its bot token (for /metrics)."""
    return session.scalar(select(func.count()).select_from(Workspace).where(Workspace.uninstalled_at.is_not(None))) or 0
