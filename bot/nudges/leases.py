"""Shared planning (PRODUCT.md §7 scale-out): any number of processes, on any number of machines, split a pass's
planning a workspace at a time. Each workspace with anything due is planned by the one process that takes its lease
(storage/leases.py); the others move on to the next. A lease lasts LEASE_SECONDS and is renewed between batches
while its holder works; a process that dies holding one leaves that workspace to the next pass (or to any process
that comes by after it expired). A process told to stop gives its lease back unplanned, so the next one may take it
at once.

A pass is the sweep interval `now` falls in: one process planned a workspace in it, so the others leave it alone
until the next interval (each process's scheduler ticks once an interval, at its own moment). Lease times are read
on the sweep's own clock (its `now` plus the time the pass has taken), so the machines' clocks must agree to
within seconds, as NTP keeps them.
"""

from __future__ import annotations

import logging
import time as clock
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.nudges.planner import PlanReport
from storage.leases import ensure_leases, give_back, renew_lease, take_lease

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0  # a batch takes well under a second; past this a silent holder is taken to be dead
RENEW_SECONDS = 15.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PlanOne = Callable[[int, Callable[[], bool]], PlanReport]  # (workspace id, stop) -> what it planned


def pass_of(now: datetime, minutes: int) -> datetime:
    """The start of the sweep interval `now` falls in: what every process sweeping in it calls this pass."""
    step = timedelta(minutes=minutes)
    return EPOCH + ((now - EPOCH) // step) * step


class _Lease:
    """One workspace's lease while this process plans it: renewed between batches, lost if it expired."""

    def __init__(self, sessions: sessionmaker[Session], workspace_id: int, holder: str, at: Callable[[], datetime],
                 stop: Callable[[], bool]) -> None:
        self.sessions, self.workspace_id, self.holder, self.at, self.stop = sessions, workspace_id, holder, at, stop
        self.renewed = clock.monotonic()
        self.lost = self.halted = False

    def halt(self) -> bool:
        """The planner's stop: the process is stopping, or the lease went to another process."""
        self.halted = self.halted or self.stop() or not self.keep()
        return self.halted

    def keep(self) -> bool:
        if not self.lost and clock.monotonic() - self.renewed >= RENEW_SECONDS:
            with self.sessions.begin() as session:
                self.lost = not renew_lease(session, self.workspace_id, self.holder,
                                            self.at() + timedelta(seconds=LEASE_SECONDS))
            self.renewed = clock.monotonic()
            if self.lost:
                log.warning("lost the planning lease of workspace %s to another process; leaving it to them",
                            self.workspace_id)
        return not self.lost


def plan_shared(sessions: sessionmaker[Session], workspace_ids: Sequence[int], plan_one: PlanOne, now: datetime, *,
                minutes: int, process: str, stop: Callable[[], bool] = lambda: False,
                on_lease: Callable[[int], None] = lambda _id: None) -> PlanReport:
    """Plan each of `workspace_ids` whose lease this process takes. `on_lease` is told each workspace taken, before
    it is planned (tests stop a process there)."""
    report = PlanReport()
    if not workspace_ids:
        return report
    pass_at = pass_of(now, minutes)
    holder = f"{process}:{uuid.uuid4().hex[:12]}"
    started = clock.monotonic()

    def at() -> datetime:  # the sweep's clock, moving on as the pass takes time
        return now + timedelta(seconds=clock.monotonic() - started)

    with sessions.begin() as session:
        ensure_leases(session, workspace_ids)
    for workspace_id in workspace_ids:
        if stop():
            break
        with sessions.begin() as session:
            if not take_lease(session, workspace_id, holder, process, pass_at, at(),
                              at() + timedelta(seconds=LEASE_SECONDS)):
                continue
        lease = _Lease(sessions, workspace_id, holder, at, stop)
        done = False
        try:
            on_lease(workspace_id)
            part = plan_one(workspace_id, lease.halt)
            done = not lease.halted
        finally:
            with sessions.begin() as session:  # a failure or a stop gives it back unplanned: the next one may take it
                give_back(session, workspace_id, holder, planned_in=pass_at if done else None, process=process)
        report.planned.update(part.planned)
        report.batches += part.batches
        report.longest_batch_s = max(report.longest_batch_s, part.longest_batch_s)
    return report
