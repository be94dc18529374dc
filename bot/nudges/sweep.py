"""One nudge pass: plan what is due, then deliver it if it is business hours. Safe to run anywhere, any
number of times at once: the outbox's dedup keys and atomic claims make it idempotent."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy.orm import Session, sessionmaker

from bot.database import Database, is_outage
from bot.nudges.delivery import DeliveryReport, PosterFor, SlackPoster, WorkspaceKey, deliver
from bot.nudges.focus import FocusReport, select
from bot.nudges.leases import pass_of, plan_shared
from bot.nudges.planner import UTC_ZONE, PlanReport, due_workspaces, plan, plan_digests
from bot.nudges.rules import in_business_hours
from bot.settings import Settings
from bot.slack.installs import WorkspaceTokens, erase_uninstalled, verify_secret_key
from bot.workspaces import tz_of
from storage.counts import fold_client_counts
from storage.db import reading
from storage.leases import ensure_leases, take_focus
from storage.markers import set_marker
from storage.workspaces import all_workspaces

log = logging.getLogger(__name__)
KIND_WORDS = {"quiet": "quiet", "unanswered": "unanswered", "checkin": "check-in", "thank": "thanks",
              "at_risk": "at-risk", "advocate": "advocate", "winback": "former-client", "digest": "digest",
              "reply": "reply", "promise": "promise", "issue": "issue update", "eta": "estimate passed",
              "goal_check": "goal check", "goal_risk": "goal at risk", "goal_due": "goal met or missed",
              "reviews": "monthly reviews", "heads_up": "heads-up",
              "intro": "introduction", "intro_reminder": "introduction reminder", "handoff_checkin": "handoff check-in",
              "closeout": "closeout", "referable": "referral channel"}


@dataclass
class SweepReport:
    at: datetime
    planned: PlanReport
    delivery: DeliveryReport | None
    business_hours: bool
    dry_run: bool
    erased: int = 0  # workspaces erased after their uninstall grace period
    focus: FocusReport | None = None

    def summary(self) -> str:
        kinds = ", ".join(f"{KIND_WORDS[k]} {n}" for k, n in sorted(self.planned.planned.items()))
        total = sum(self.planned.planned.values())
        head = f"sweep at {self.at.isoformat(timespec='minutes')}: "
        if self.dry_run:
            return head + f"dry run, would plan {total}" + (f" ({kinds})" if kinds else "") + "; nothing written"
        line = head + f"planned {total}" + (f" ({kinds})" if kinds else "")
        if self.erased:
            line += f"; erased {self.erased} uninstalled workspace{'s' if self.erased != 1 else ''}"
        if self.delivery is None:
            return line + "; outside business hours, posting waits"
        d, f = self.delivery, self.focus
        if f is not None and (f.cards or f.waiting):
            line += f"; {_count(f.cards, 'card')} for {_count(f.people, 'person', 'people')}"
            line += f", {_count(f.waiting, 'client')} waiting" if f.waiting else ""
        line += f"; posted {d.posted} in {_count(d.messages, 'message')}"
        lapsed = d.dropped + (self.focus.dropped if self.focus else 0)
        extras = [f"{n} {w}" for n, w in ((d.reconciled, "found already posted"), (d.fell_back, "sent by DM instead"),
                                          (d.retrying, "retrying later"), (d.failed, "failed"),
                                          (lapsed, "no longer applied"), (d.deferred, "snoozed")) if n]
        if d.superseded:
            extras.append("1 digest of a past week dropped" if d.superseded == 1 else
                          f"{d.superseded} digests of past weeks dropped")
        return line + ("; " + ", ".join(extras) if extras else "")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


class StoppableRateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's wait for Retry-After, cut short by a stop: a stopping process hands the post back instead."""

    def __init__(self, stop: threading.Event, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._stop = stop

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return not self._stop.is_set() and super()._can_retry(state=state, request=request, response=response,
                                                               error=error)

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        wait = 1.0
        for name, values in (response.headers if response is not None else {}).items():
            if name.lower() == "retry-after" and values:
                wait = float(values[0]) + random.random()
        state.next_attempt_requested = not self._stop.wait(wait)
        state.increment_current_attempt()


def delivery_client(settings: Settings, timeout: int = 10, token: str | None = None,
                    stop: threading.Event | None = None) -> WebClient:
    # No connection-error retries: a reset after sending must be checked, not blindly re-sent.
    return WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url, timeout=timeout,
                     retry_handlers=[StoppableRateLimitRetry(stop or threading.Event())])


Slack = WebClient | WorkspaceTokens  # one bot token for every workspace, or each installed workspace's own


def slack_for(settings: Settings, database: Database, stop: threading.Event | None = None) -> Slack:
    if not settings.oauth:
        return delivery_client(settings, stop=stop)
    verify_secret_key(settings, database.engine)
    return WorkspaceTokens(settings, database.engine)


def _posters(settings: Settings, slack: Slack, stop: threading.Event | None = None) -> PosterFor:
    if isinstance(slack, WebClient):
        poster = SlackPoster(slack)
        return lambda _key: poster
    found: dict[WorkspaceKey, SlackPoster | None] = {}

    def poster_for(key: WorkspaceKey) -> SlackPoster | None:
        if key not in found:  # once per sweep: a token rotation is a Web API call
            try:
                token = slack.bot_token(key[0] or None, key[1])
            except Exception as exc:  # one workspace's failed rotation must not hold up the others; it retries later
                if is_outage(exc):  # not the token's fault: delivery waits for the database, then asks again
                    raise
                log.exception("no bot token for workspace %s/%s this sweep", *key)
                token = None
            found[key] = SlackPoster(delivery_client(settings, token=token, stop=stop)) if token else None
        return found[key]

    return poster_for


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def plan_pass(database: Database, now: datetime, dry_run: bool, settings: Settings | None = None,
              stop: threading.Event | None = None) -> PlanReport:
    """Planning every workspace in this process, in batches of short transactions (see bot.nudges.planner)."""
    return plan(database.sessions, now, dry_run=dry_run, stop=stop.is_set if stop is not None else lambda: False,
                **_rules(settings))


def plan_shared_pass(database: Database, now: datetime, settings: Settings, stop: threading.Event | None = None,
                     on_lease: Callable[[int], None] = lambda _id: None,
                     digests_after_focus: Collection[int] = ()) -> PlanReport:
    """Planning shared with every other process sweeping this pass: each workspace with anything due is planned by
    the one that takes its lease (bot/nudges/leases.py). `digests_after_focus`: workspaces whose digest is
    planned once today's cards are chosen (see sweep), not here."""
    with reading(database.sessions) as session:
        due = due_workspaces(session, now, tz=settings.tz, digest=settings.digest, reply_hours=settings.reply_hours)
    rules = _rules(settings)
    return plan_shared(database.sessions, due,
                       lambda workspace_id, halt: plan(database.sessions, now, stop=halt, workspace_id=workspace_id,
                                                       **{**rules, "digest": None if workspace_id in digests_after_focus
                                                          else rules["digest"]}),
                       now, minutes=settings.sweep_minutes, process=worker_name(),
                       stop=stop.is_set if stop is not None else lambda: False, on_lease=on_lease)


def _focus_claims(database: Database, workspace_ids: list[int], now: datetime,
                  settings: Settings, taken: list[int]) -> Callable[[Session, int], bool]:
    """Whether this process chooses a workspace's focus cards in this pass: one process a pass ranks a workspace's
    waiting nudges, not every process sweeping it (storage/leases.py take_focus). Those it takes are added to
    `taken`."""
    with database.sessions.begin() as session:
        ensure_leases(session, workspace_ids)
    pass_at, process = pass_of(now, settings.sweep_minutes), worker_name()

    def ours(session: Session, workspace_id: int) -> bool:
        if not take_focus(session, workspace_id, process, pass_at, now):
            return False
        taken.append(workspace_id)
        return True
    return ours


def _rules(settings: Settings | None) -> dict[str, Any]:
    return {"tz": settings.tz if settings else UTC_ZONE,
            "default_channel": settings.nudge_channel if settings else None,
            "digest": settings.digest if settings else None,
            "hours": settings.business_hours if settings else Settings.business_hours,
            "reply_hours": settings.reply_hours if settings else Settings.reply_hours,
            "update_every": settings.update_every if settings else Settings.update_every}


Capture = Callable[[sessionmaker[Session], datetime], object]


def sweep(database: Database, settings: Settings, slack: Slack, now: datetime, *,
          dry_run: bool = False, stop: threading.Event | None = None, worker: str | None = None,
          capture: Capture | None = None) -> SweepReport:
    """One pass. `stop` (a deploy's SIGTERM): choose and claim nothing more, finish the post in flight, return
    what is claimed but unsent to the outbox. `worker`: the name claims are held under (this process's, unless
    several sweeps share a process). `capture`: what the entry point has the sweep write first, as of `now`, so
    planning sees it (meetings that have started become touches: bot/capture/mail/meetings.py)."""
    stop = stop or threading.Event()
    if capture is not None and not dry_run:
        capture(database.sessions, now)
    with reading(database.sessions) as session:
        workspaces = all_workspaces(session)
        # a workspace Slack is moving into an Enterprise Grid org gets nothing posted until the move is done (§8)
        open_ids = [w.id for w in workspaces if w.grid_migration_at is None
                    and in_business_hours(now, settings.business_hours, tz_of(w, settings.tz))]
    hours = bool(open_ids) or not workspaces
    planned = plan_pass(database, now, dry_run, settings, stop) if dry_run else \
        plan_shared_pass(database, now, settings, stop, digests_after_focus=set(open_ids))
    delivery = chosen = None
    if hours and not dry_run:
        focused: list[int] = []
        chosen = select(database.sessions, now, settings, [w for w in workspaces if w.id in open_ids],
                        stop=stop.is_set, ours=_focus_claims(database, open_ids, now, settings, focused))
        # A week's digest is worked out once today's cards are chosen, by the process that chose them: it never
        # lists as waiting their turn the clients whose cards it is posted beside.
        digest = settings.digest
        if digest is not None:
            for workspace_id in focused:
                plan_digests(database.sessions, now, settings.tz, settings.nudge_channel, digest,
                             settings.business_hours, False, planned, stop.is_set, workspace_id)
        delivery = deliver(database.sessions, _posters(settings, slack, stop), now, worker=worker or worker_name(),
                           default_channel=settings.nudge_channel, workspace_ids=open_ids, stop=stop, tz=settings.tz,
                           digest=settings.digest)
    erased = 0
    if not dry_run:
        with database.sessions.begin() as session:
            # Single-workspace mode: the deployment's data belongs to whoever runs it; an uninstall stops delivery only
            erased = erase_uninstalled(session, now, settings.uninstall_grace_days) if settings.oauth else 0
            set_marker(session, "sweep", now)  # for /metrics: when a sweep last finished, in any process
        with database.sessions.begin() as session:  # apart: a fold waits on nothing and holds up nothing
            fold_client_counts(session)  # the rows clients added and changed since: list totals stay a few rows
    return SweepReport(now, planned, delivery, hours, dry_run, erased, chosen)
