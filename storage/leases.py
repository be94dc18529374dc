"""Planning leases (PRODUCT.md §7 scale-out): which process plans which workspace in a pass.

A lease is taken atomically (PostgreSQL: the row locked `FOR UPDATE SKIP LOCKED`, so a process never waits on
another's take; SQLite: the write lock, so processes take turns), given back when the workspace is planned, and
expires on its own if the process holding it dies. The row keeps which pass last planned the workspace and how many
times, so work repeated is counted by the database, not assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    DUE_COLUMNS,
    Client,
    Closeout,
    Commitment,
    Goal,
    Handoff,
    LinkedChannel,
    PlanningLease,
    Referral,
)
from storage.types import rows_changed
from storage.workspaces import INSTALLED


def due_workspace_ids(session: Session, now: datetime, asked_before: datetime) -> set[int]:
    """Installed workspaces with anything due a look by a rule: a range on each due-time index, so the cost is
    what is due. A superset (a snoozed client counts): planning such a workspace finds nothing and costs little."""
    ranges = [select(Client.workspace_id).where(getattr(Client, column) <= now) for column in DUE_COLUMNS]
    ranges += [select(Referral.workspace_id).where(Referral.next_nudge_at <= now, Referral.thanked_at.is_(None)),
               select(Commitment.workspace_id).where(Commitment.next_check_at <= now, Commitment.done_at.is_(None)),
               select(Goal.workspace_id).where(Goal.next_check_at <= now, Goal.status == "open"),
               select(LinkedChannel.workspace_id).where(LinkedChannel.next_reply_at <= asked_before),
               select(Handoff.workspace_id).where(Handoff.next_check_at <= now),
               select(Closeout.workspace_id).where(Closeout.next_check_at <= now, Closeout.done_at.is_(None))]
    due = union(*ranges).subquery()
    return set(session.scalars(select(due.c.workspace_id).where(due.c.workspace_id.in_(INSTALLED))))


def ensure_leases(session: Session, workspace_ids: Sequence[int]) -> None:
    """A lease row for each workspace (in id order, so processes inserting at once never deadlock)."""
    if not workspace_ids:
        return
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert_fn(PlanningLease).on_conflict_do_nothing(index_elements=["workspace_id"]),
                    [{"workspace_id": w, "plans": 0} for w in sorted(workspace_ids)])


def take_lease(session: Session, workspace_id: int, holder: str, process: str, pass_at: datetime, now: datetime,
               expires_at: datetime) -> bool:
    """Take the workspace's lease for `holder` if nobody holds it (or the holder's lease has expired) and no other
    process has planned it in this pass. False: someone else has it, is taking it, or did it."""
    free = select(PlanningLease.workspace_id).where(
        PlanningLease.workspace_id == workspace_id,
        or_(PlanningLease.holder.is_(None), PlanningLease.expires_at <= now),
        # this process may plan again in a pass it planned (a manual `rapport sweep`): it is others it leaves alone
        or_(PlanningLease.pass_at.is_(None), PlanningLease.pass_at != pass_at, PlanningLease.planned_by == process),
    ).with_for_update(skip_locked=True)
    if session.scalar(free) is None:
        return False
    session.execute(update(PlanningLease).where(PlanningLease.workspace_id == workspace_id)
                    .values(holder=holder, expires_at=expires_at))
    return True


def renew_lease(session: Session, workspace_id: int, holder: str, expires_at: datetime) -> bool:
    """Keep holding it a while longer; False if the lease expired and another process has taken it."""
    result = session.execute(update(PlanningLease).where(PlanningLease.workspace_id == workspace_id,
                                                         PlanningLease.holder == holder)
                             .values(expires_at=expires_at))
    return bool(rows_changed(result))


def give_back(session: Session, workspace_id: int, holder: str, *, planned_in: datetime | None = None,
              process: str | None = None) -> bool:
    """Give the lease back; with `planned_in`, record that `process` planned the workspace in that pass. False if
    the lease had already gone to another process."""
    values: dict[str, object] = {"holder": None, "expires_at": None}
    if planned_in is not None:
        values |= {"pass_at": planned_in, "planned_by": process,
                   "plans": case((PlanningLease.pass_at == planned_in, PlanningLease.plans + 1), else_=1)}
    result = session.execute(update(PlanningLease).where(PlanningLease.workspace_id == workspace_id,
                                                         PlanningLease.holder == holder).values(**values))
    return bool(rows_changed(result))


def plans_in_pass(session: Session, pass_at: datetime) -> dict[int, int]:
    """How many times each workspace was planned in the pass: 1 each, or work was repeated."""
    return dict(session.execute(select(PlanningLease.workspace_id, PlanningLease.plans)
                                .where(PlanningLease.pass_at == pass_at)).all())


def planners_in_pass(session: Session, pass_at: datetime) -> dict[str, int]:
    """How many workspaces each process planned in the pass."""
    return dict(session.execute(select(PlanningLease.planned_by, func.count())  # type: ignore[arg-type]
                                .where(PlanningLease.pass_at == pass_at).group_by(PlanningLease.planned_by)).all())


def take_focus(session: Session, workspace_id: int, process: str, pass_at: datetime, now: datetime) -> bool:
    """Whether `process` chooses the workspace's focus cards in this pass: nobody has in this pass (or this process
    did, and sweeps again), nobody is planning it right now, and no other process planned it in this pass (the
    one that did chooses after planning, so what it planned is ranked too). One conditional update: of processes
    asking at once, one gets it; the lease row must exist (ensure_leases)."""
    result = session.execute(update(PlanningLease).where(
        PlanningLease.workspace_id == workspace_id,
        or_(PlanningLease.focused_in.is_(None), PlanningLease.focused_in != pass_at,
            PlanningLease.focused_by == process),
        or_(PlanningLease.holder.is_(None), PlanningLease.expires_at <= now),
        or_(PlanningLease.pass_at.is_(None), PlanningLease.pass_at != pass_at, PlanningLease.planned_by == process),
    ).values(focused_in=pass_at, focused_by=process))
    return bool(rows_changed(result))
