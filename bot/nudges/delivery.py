"""Delivery (PRODUCT.md §5): claim atomically, post once, and never guess.

- 429: the Web API client waits Retry-After and retries; if Slack still says no, the nudge waits its turn.
- A failure known to have happened before sending (connection refused): retried later with backoff.
- An unknown outcome (timeout, reset, 5xx): the channel's recent history is searched for the nudge ids
  (carried in message metadata) before anything is sent again, nudge by nudge: a nudge counts as sent only
  when a message carrying its own id is there; the others are posted again.
- A nudge whose outcome is unknown is never dropped unseen, whatever happened meanwhile (a touch handled its card,
  its digest's week ended): it is looked for first; found, it is sent, at its message's ts (and its message
  rewritten if it was handled meanwhile, once every nudge the message carries is settled); missing, it is dropped
  then, not posted. A card handled while its post was in flight is rewritten too.
- Permanent errors (channel gone, bot not in it, archived): the owner gets it by DM, and the reason is kept.
- The database gone mid-delivery: posting stops, what Slack said is kept in memory and written as soon as
  the database is back (sent with its ts; the rest handed back to the outbox), then delivery carries on.
  Nothing waits for a lease to run out.
- A nudge whose client was forgotten while its message was in flight is skipped; the rest is recorded.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.nudges.cards import rebuilt
from bot.nudges.digest import digest_message, superseded
from bot.nudges.handoff_messages import INTRODUCTIONS, addressed_to
from bot.nudges.messages import CardView, NudgeView, is_direct, message, pack
from bot.nudges.relevance import relevance
from bot.nudges.review_messages import owner_message
from bot.slack.message_updates import MessageUpdate, rewrite
from bot.when import UTC_ZONE, Days
from bot.workspaces import tz_of
from storage.db import is_outage
from storage.focus import nudges_on_card
from storage.models import Card, Client, Commitment, Goal, LinkedChannel, Referral
from storage.outbox import (
    claim_nudges,
    handled_message,
    held_attempts,
    mark_nudges,
    mark_unknown,
    release_claimed_at,
    release_nudges,
)
from storage.workspaces import get_workspace

log = logging.getLogger(__name__)

PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "restricted_action",
    "no_permission", "ekm_access_denied", "team_access_not_granted", "cannot_dm_bot", "user_not_found",
    "user_disabled", "messages_tab_disabled", "invalid_channel",
})
# Cards (and digests) claimed at a time: enough that a channel's cards can share messages of ten, few enough
# that other sweepers take the next batch while this one posts, and that a stop returns little to the outbox.
BATCH = 100
# (enterprise id or '', team id): which workspace's bot token posts a nudge.
WorkspaceKey = tuple[str, str]
PosterFor = Callable[[WorkspaceKey], "SlackPoster | None"]
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
RECONCILE_WINDOW = timedelta(minutes=5)
HISTORY_PAGES = 10  # of 200 messages: a channel busier than that within the window is checked again later
# While the database is away: how often to try writing down what Slack said, at first and at most (seconds)
SETTLE_FIRST_WAIT, SETTLE_MAX_WAIT = 0.25, 2.0
MAX_LOST_CLAIMS = 20  # claims in a row that fail while the database answers otherwise: not an outage, a fault


class HistoryTooLongError(Exception):
    """The channel's history within the window is longer than we read: absence was not seen."""


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | retry | unknown | permanent | dropped (looked for, not there, and not to be posted)
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None
    # A message found in its channel: every nudge id it carries (its metadata), whether recorded yet or not
    carries: tuple[int, ...] = ()


class SlackPoster:
    """The only part of delivery that talks to Slack."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._dms: dict[str, str] = {}

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], metadata: dict[str, Any]) -> Outcome:
        try:
            reply = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata,
                                                 unfurl_links=False, unfurl_media=False)
            return Outcome("sent", channel=str(reply.get("channel") or channel), ts=str(reply.get("ts")))
        except SlackApiError as exc:
            return _api_failure(exc)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                return Outcome("retry", error=f"connection: {exc.reason}")
            return Outcome("unknown", error=f"connection: {exc.reason}")
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            return Outcome("unknown", error=f"{type(exc).__name__}: {exc}")

    def dm(self, user_id: str) -> str:
        if user_id not in self._dms:
            self._dms[user_id] = str(self.client.conversations_open(users=user_id)["channel"]["id"])
        return self._dms[user_id]

    def find(self, channel: str, nudge_ids: Iterable[int], oldest: datetime) -> dict[int, tuple[str, tuple[int, ...]]]:
        """For each of these nudge ids carried by a message in `channel` since `oldest`, that message's ts and every
        nudge id it carries."""
        wanted, found = set(nudge_ids), dict[int, tuple[str, tuple[int, ...]]]()
        cursor = None
        for _ in range(HISTORY_PAGES):
            page: dict[str, Any] = {"cursor": cursor} if cursor else {}
            reply = self.client.conversations_history(channel=channel, oldest=str(oldest.timestamp()), limit=200,
                                                      include_all_metadata=True, **page)
            for msg in reply.get("messages") or []:
                meta = msg.get("metadata") or {}
                if meta.get("event_type") != "rapport_nudge":
                    continue
                carried = tuple((meta.get("event_payload") or {}).get("nudge_ids") or [])
                for nudge_id in carried:
                    if nudge_id in wanted:
                        found.setdefault(nudge_id, (str(msg.get("ts")), carried))
            cursor = (reply.get("response_metadata") or {}).get("next_cursor")
            if found.keys() >= wanted or not reply.get("has_more") or not cursor:
                return found
        if found.keys() >= wanted:
            return found
        raise HistoryTooLongError(f"more than {HISTORY_PAGES * 200} messages in {channel} to look through")


def _api_failure(exc: SlackApiError) -> Outcome:
    status = exc.response.status_code
    error = str(exc.response.get("error") or f"http {status}")
    if status == 429:
        return Outcome("retry", error="ratelimited", retry_after=float(exc.response.headers.get("Retry-After", 30)))
    if status >= 500:
        return Outcome("unknown", error=error)
    if error in PERMANENT:
        return Outcome("permanent", error=error)
    return Outcome("retry", error=error)


@dataclass
class DeliveryReport:
    posted: int = 0
    messages: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0
    deferred: int = 0
    superseded: int = 0  # digests of a week that is over, dropped unposted: the next week's is due today (§4.7)
    fell_back: int = 0
    reconciled: int = 0
    returned: int = 0  # claimed, then handed back unsent: the process was stopping, or the database went away


@dataclass
class _Item:
    nudge_id: int
    workspace: WorkspaceKey
    view: NudgeView | None  # None for a digest
    target: str  # a channel id, or a user id for a DM
    was_unknown: bool
    # Its sent_at while unknown: the earliest a post of it may have reached Slack (its first unknown outcome, else
    # the claim it was lost under); a channel's history is searched from there, however many passes it stays so.
    posted_at: datetime | None
    errors: list[str] = field(default_factory=list)
    digest: dict[str, Any] | None = None
    card: Card | None = None  # the client's card for the day (focus); every reason on it shares one section
    seen_missing: bool = False  # its channel's history was read this pass and does not carry it
    # Looked for in its channel, never posted again: dropped for this reason if it is not there (a digest whose week
    # is over, a card handled or no longer applying while its post was unsettled)
    unless_found: str | None = None
    days: Days = field(default_factory=Days)  # how its days read: in its workspace's timezone


STALE_DIGEST = "its week is over: the next week's digest is due"
NO_LONGER_APPLIES = "no longer applies"


def _claim(session: Session, now: datetime, worker: str, default_channel: str | None,
           report: DeliveryReport, workspace_ids: Sequence[int] | None, tz: ZoneInfo = UTC_ZONE,
           digest: tuple[int, clock_time] | None = None) -> list[_Item]:
    items = []
    for nudge in claim_nudges(session, now, worker, BATCH, now - LEASE, workspace_ids):
        workspace = get_workspace(session, nudge.workspace_id)
        if workspace is None or workspace.uninstalled_at is not None:
            nudge.status, nudge.last_error = "dropped", "the app was uninstalled"
            report.dropped += 1
            continue
        key = (workspace.enterprise_id, workspace.team_id)
        days = Days.at(now, tz_of(workspace, tz))
        if nudge.kind in ("digest", "reviews"):  # about a channel or a person, not one client
            unknown = nudge.status == "unknown"
            facts = json.loads(nudge.facts)
            stale = nudge.kind == "digest" and superseded(facts["week"], now, tz_of(workspace, tz), digest,
                                                          workspace.digest_week)
            if stale and not unknown:  # never posted: it stays so (one that may have been is looked for first)
                nudge.status, nudge.last_error, nudge.next_attempt_at = "dropped", STALE_DIGEST, None
                report.superseded += 1
                continue
            nudge.channel_id = nudge.channel_id or facts["target"]
            items.append(_Item(nudge.id, key, None, nudge.channel_id, unknown,
                               nudge.sent_at if unknown else None, digest=facts, days=days,
                               unless_found=STALE_DIGEST if stale else None))
            nudge.status = "sending"
            continue
        client = session.get(Client, nudge.client_id)
        referral = session.get(Referral, nudge.referral_id) if nudge.referral_id else None
        linked = session.get(LinkedChannel, nudge.linked_channel_id) if nudge.linked_channel_id else None
        commitment = session.get(Commitment, nudge.commitment_id) if nudge.commitment_id else None
        goal = session.get(Goal, nudge.goal_id) if nudge.goal_id else None
        verdict = relevance(nudge, client, referral, now, linked, commitment, goal)
        if verdict == "drop" and (nudge.status != "unknown" or client is None):
            nudge.status, nudge.last_error = "dropped", NO_LONGER_APPLIES
            report.dropped += 1
            continue
        # A post that may have reached Slack is not dropped unseen (a touch logged meanwhile handled its card, say):
        # found in its channel it is sent, and shows what happened since; missing, it is dropped then.
        unless_found = NO_LONGER_APPLIES if verdict == "drop" else None
        if isinstance(verdict, datetime):
            # put off (snoozed, say): an outcome still unknown stays so, to be checked before it is ever posted
            nudge.status = "unknown" if nudge.status == "unknown" else "pending"
            nudge.next_attempt_at, nudge.attempts = verdict, nudge.attempts - 1
            report.deferred += 1
            continue
        assert client is not None
        facts = json.loads(nudge.facts)
        owner = client.owner_id
        if nudge.kind in INTRODUCTIONS:
            on_card = [nudge.kind]
            if nudge.card_id is not None:
                with session.no_autoflush:  # mid-claim: nothing of this pass is written before its commit
                    on_card = [n.kind for n in nudges_on_card(session, nudge.card_id)]
            owner = addressed_to(on_card, facts, owner)
        target = client.channel_id or workspace.default_channel_id or default_channel or owner
        unknown = nudge.status == "unknown"
        # where an earlier attempt went is where to look for it; otherwise route afresh
        nudge.channel_id = nudge.channel_id if unknown and nudge.channel_id else target
        view = NudgeView(nudge.id, nudge.kind, client.name, owner, facts)
        card = session.get(Card, nudge.card_id) if nudge.card_id else None
        items.append(_Item(nudge.id, key, view, nudge.channel_id, unknown,
                           nudge.sent_at if unknown else None, card=card, days=days,
                           unless_found=unless_found))
        nudge.status = "sending"
    return items


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


Settlement = tuple[list[_Item], Outcome, str | None]  # nudges, what became of them, a note (reconciled, …)


def deliver(sessions: sessionmaker[Session], poster_for: PosterFor, now: datetime, *, worker: str,
            default_channel: str | None, workspace_ids: Sequence[int] | None = None,
            stop: threading.Event | None = None, tz: ZoneInfo = UTC_ZONE,
            digest: tuple[int, clock_time] | None = None) -> DeliveryReport:
    """Post what is due, each workspace's nudges with that workspace's own bot token; with `workspace_ids`,
    only those workspaces' (the ones inside their business hours).

    `stop` (a deploy's SIGTERM): nothing more is claimed, the post in flight finishes, and everything claimed
    but not posted goes back to the outbox at once, for the next process to post.

    The database gone (a crash, a failover): posting stops, and what Slack said is written down as soon as
    the database answers again (see _settle); then delivery carries on where it was.

    `digest` (its weekday and local time): a digest not out by the start of the day the next week's is due is
    dropped, never posted late beside it (PRODUCT.md §4.7)."""
    report = DeliveryReport()
    lost_claims = 0
    started, pass_now = time.monotonic(), now
    while not (stop is not None and stop.is_set()):
        # A claim's lease runs from when it was taken, not from when the pass began: a pass that has been
        # posting for longer than a lease must not claim rows that look expired to every other sweeper.
        now = pass_now + timedelta(seconds=time.monotonic() - started)
        claimed = DeliveryReport()
        try:
            with sessions.begin() as session:
                items = _claim(session, now, worker, default_channel, claimed, workspace_ids, tz, digest)
        except Exception as exc:
            lost_claims += 1
            if not is_outage(exc) or lost_claims > MAX_LOST_CLAIMS:
                raise
            log.warning("the database went away while claiming nudges (%s); waiting for it", _brief(exc))
            if not _settle(sessions, worker, now, [], [], report, stop, poster_for):
                return report
            continue
        lost_claims = 0
        _merge(report, claimed)
        if not items:
            return report
        recorded, held = _post_batch(sessions, poster_for, items, now, worker, report, stop)
        done = recorded | {i.nudge_id for settled, _, _ in held for i in settled}
        unsent = [i for i in items if i.nudge_id not in done]  # stopping, or the database went away
        if (held or unsent) and not _settle(sessions, worker, now, held, unsent, report, stop, poster_for):
            return report
    return report


def _settle(sessions: sessionmaker[Session], worker: str, now: datetime, held: list[Settlement],
            unsent: list[_Item], report: DeliveryReport, stop: threading.Event | None,
            poster_for: PosterFor) -> bool:
    """Write down what Slack said (`held`: sent with its ts, or to retry), hand back what was claimed but not
    posted (as it was before the claim), and hand back as unknown anything a claim of this pass may have taken
    unbeknown to us (the connection lost around its commit). With the database away, try again and again
    until it answers: nothing waits for a lease to run out. False if it never did (stopping, or a whole lease
    went by; then the lease hands the rest to the next sweep, which checks the channel before posting)."""
    deadline = time.monotonic() + LEASE.total_seconds()
    wait = SETTLE_FIRST_WAIT
    pause = stop or threading.Event()
    while True:
        scratch = DeliveryReport()
        updates: list[tuple[WorkspaceKey, list[MessageUpdate]]] = []
        try:
            with sessions.begin() as session:
                for items, outcome, note in held:
                    updates.append((items[0].workspace, _record(session, worker, now, items, outcome, note,
                                                                report=scratch)))
                release_nudges(session, [i.nudge_id for i in unsent if not i.was_unknown], worker, "pending")
                release_nudges(session, [i.nudge_id for i in unsent if i.was_unknown], worker, "unknown")
                release_claimed_at(session, worker, now)
        except Exception as exc:
            if not is_outage(exc):
                raise
            if pause.is_set() or time.monotonic() + wait > deadline:
                log.error("the database is still unavailable; %d claimed nudges are left to their lease",
                          sum(len(i) for i, _, _ in held) + len(unsent))
                return False
            pause.wait(wait)
            wait = min(wait * 2, SETTLE_MAX_WAIT)
            continue
        scratch.returned += len(unsent)
        _merge(report, scratch)
        for key, changed in updates:
            if changed:
                _rewrite(poster_for, key, changed)
        if held:
            log.info("the database is back: %d outcomes from Slack written down",
                     sum(len(i) for i, _, _ in held))
        return True


def _rewrite(poster_for: PosterFor, key: WorkspaceKey, updates: list[MessageUpdate]) -> None:
    """Best effort, as every rewrite: the database already says what happened."""
    try:
        poster = poster_for(key)
    except Exception as exc:  # the token is read from the database, which may have gone again
        log.warning("could not bring %d messages up to date: %s", len(updates), _brief(exc))
        return
    if poster is not None:
        rewrite(poster.client, updates)


def _merge(report: DeliveryReport, more: DeliveryReport) -> None:
    for f in fields(DeliveryReport):
        setattr(report, f.name, getattr(report, f.name) + getattr(more, f.name))


def _brief(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0] if detail else ''}"


def _post_batch(sessions: sessionmaker[Session], poster_for: PosterFor, items: list[_Item], now: datetime,
                worker: str, report: DeliveryReport, stop: threading.Event | None) -> tuple[set[int], list[Settlement]]:
    """Post one claimed batch, recording each outcome as it comes. Returns the ids recorded (all of them, unless
    asked to stop part-way, or the database went away), and the outcome the database was not there to record
    (posting stops with it)."""
    recorded: set[int] = set()
    by_workspace: dict[WorkspaceKey, list[_Item]] = defaultdict(list)
    for item in items:
        by_workspace[item.workspace].append(item)
    for key, group in by_workspace.items():
        try:
            poster = poster_for(key)  # in OAuth mode the token is read from the database
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("the database went away mid-delivery (%s); handing back what is not posted", _brief(exc))
            return recorded, []
        outcomes = _send(poster, group, now, report) if poster is not None else [
            (group, Outcome("retry", error="no bot token for this workspace"), None)]  # uninstalled, or token gone
        for done, outcome, note in outcomes:
            scratch = DeliveryReport()
            try:
                with sessions.begin() as session:
                    updates = _record(session, worker, now, done, outcome, note, report=scratch)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("the database went away mid-delivery (%s); holding what Slack said", _brief(exc))
                return recorded, [(done, outcome, note)]
            if updates and poster is not None:
                rewrite(poster.client, updates)  # a card handled while its post was unsettled now says so
            _merge(report, scratch)
            recorded.update(i.nudge_id for i in done)
            if stop is not None and stop.is_set():
                return recorded, []
    return recorded, []


def _resolve_target(poster: SlackPoster, target: str) -> str:
    return poster.dm(target) if target.startswith(("U", "W")) else target


HISTORY_ERRORS = (SlackApiError, urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException,
                  HistoryTooLongError)


def _send(poster: SlackPoster, items: list[_Item], now: datetime, report: DeliveryReport) -> Iterable[Settlement]:
    by_target: dict[str, list[_Item]] = defaultdict(list)
    for item in items:
        by_target[item.target].append(item)
    queues: list[tuple[str, list[list[_Item]]]] = []
    for target, group in by_target.items():
        try:
            channel = _resolve_target(poster, target)
        except SlackApiError as exc:
            yield group, _api_failure(exc), None
            continue
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            yield group, Outcome("retry", error=f"conversations.open: {exc}"), None
            continue
        unknown = [i for i in group if i.was_unknown]
        if unknown:
            oldest = min((i.posted_at or now) for i in unknown) - RECONCILE_WINDOW
            missing = yield from _reconcile(poster, channel, unknown, oldest)
            gone: dict[str, list[_Item]] = defaultdict(list)  # not in the channel, and not to be posted now
            for item in missing:
                if item.unless_found:
                    gone[item.unless_found].append(item)
            for reason, dropped in gone.items():
                yield dropped, Outcome("dropped", channel=channel, error=reason), None
            group = [i for i in group if not i.was_unknown] + [i for i in missing if not i.unless_found]
        digests = [i for i in group if i.digest]
        cards = _by_card([i for i in group if not i.digest])
        chunks = [[d] for d in digests]  # a digest is a message of its own
        chunks += [[i for card in packed for i in card]
                   for packed in pack(cards, lambda card: [i.view.kind for i in card if i.view is not None])]
        queues.append((channel, chunks))
    # Round-robin across channels: Slack allows about one message per second per channel, so a channel's
    # second message waits while the others post, instead of every message waiting its turn.
    for round_ in range(max((len(chunks) for _, chunks in queues), default=0)):
        for channel, chunks in queues:
            if round_ < len(chunks):
                yield from _post_chunk(poster, channel, chunks[round_], now, report)


def _reconcile(poster: SlackPoster, channel: str, items: list[_Item], oldest: datetime
               ) -> Generator[Settlement, None, list[_Item]]:
    """Nudge by nudge: each one whose own id a message in the channel carries is sent, with that message's ts.
    Returns the others, whose absence was seen; none if the history could not be read (all stay unknown)."""
    try:
        found = poster.find(channel, [i.nudge_id for i in items], oldest)
    except HISTORY_ERRORS as exc:
        yield items, Outcome("unknown", channel=channel, error=f"history: {exc}"), None
        return []
    by_message: dict[tuple[str, tuple[int, ...]], list[_Item]] = defaultdict(list)
    for item in items:
        if item.nudge_id in found:
            by_message[found[item.nudge_id]].append(item)
    for (ts, carried), there in by_message.items():
        yield there, Outcome("sent", channel=channel, ts=ts, carries=carried), "reconciled"
    missing = [i for i in items if i.nudge_id not in found]
    for item in missing:
        item.seen_missing = True
    return missing


def _post_chunk(poster: SlackPoster, channel: str, chunk: list[_Item], now: datetime,
                report: DeliveryReport) -> Iterable[Settlement]:
    text, blocks, metadata = _compose(chunk, channel)
    outcome = poster.post(channel, text, blocks, metadata)
    if outcome.status == "unknown":
        # Not a blind resend: only the nudges whose absence the channel shows go again.
        chunk = yield from _reconcile(poster, channel, chunk, now - RECONCILE_WINDOW)
        if not chunk:
            return
        text, blocks, metadata = _compose(chunk, channel)
        outcome = poster.post(channel, text, blocks, metadata)
    if outcome.status == "permanent" and not channel.startswith("D"):
        yield from _fall_back(poster, chunk, outcome.error or "permanent", now, report)
        return
    yield chunk, _where(outcome, channel), None


def _where(outcome: Outcome, channel: str) -> Outcome:
    """An unknown outcome remembers its channel: that is where the next pass looks for it (a DM, say)."""
    return replace(outcome, channel=channel) if outcome.status == "unknown" else outcome


def _by_card(items: list[_Item]) -> list[list[_Item]]:
    """A client's reasons together, in the order their cards were chosen (a nudge from before focus alone)."""
    cards: dict[object, list[_Item]] = {}
    for item in sorted(items, key=lambda i: (i.card.id if i.card else 0, i.nudge_id)):
        cards.setdefault(item.card.id if item.card else ("nudge", item.nudge_id), []).append(item)
    return list(cards.values())


def _compose(chunk: list[_Item], channel: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    if chunk[0].digest is not None:
        digest = chunk[0].digest
        text, blocks = owner_message(digest) if digest.get("kind") == "reviews" else \
            digest_message(digest, chunk[0].days)
        return text, blocks, {"event_type": "rapport_nudge", "event_payload": {"nudge_ids": [chunk[0].nudge_id]}}
    cards = []
    for items in _by_card(chunk):
        card = items[0].card
        cards.append(CardView(tuple(i.view for i in items if i.view is not None), card.why if card else None,
                              card.note if card else None))
    return message(cards, chunk[0].days, to_owner=is_direct(channel))


def _fall_back(poster: SlackPoster, chunk: list[_Item], reason: str, now: datetime,
               report: DeliveryReport) -> Iterable[tuple[list[_Item], Outcome, str | None]]:
    by_owner: dict[str, list[_Item]] = defaultdict(list)
    for item in chunk:
        if item.view is None:  # a digest for a channel that is gone has no single owner to turn to
            yield [item], Outcome("permanent", error=reason), reason
            continue
        by_owner[item.view.owner_id].append(item)
    for owner, items in by_owner.items():
        for item in items:
            item.errors.append(reason)
        try:
            channel = poster.dm(owner)
        except SlackApiError as exc:
            yield items, _api_failure(exc), reason
            continue
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            yield items, Outcome("retry", error=f"conversations.open: {exc}"), reason
            continue
        text, blocks, metadata = _compose(items, channel)
        outcome = poster.post(channel, text, blocks, metadata)
        report.fell_back += len(items) if outcome.status == "sent" else 0
        yield items, _where(outcome, channel), reason


def _sent_at(items: list[_Item], outcome: Outcome, note: str | None, now: datetime) -> datetime:
    """When a message was posted: now for a post just made; for one found in its channel, its ts (Slack's, in epoch
    seconds), not the pass that found it, kept between the earliest its post may have been made and now (a clock
    apart from ours)."""
    if note != "reconciled" or outcome.ts is None:
        return now
    earliest = max((i.posted_at for i in items if i.posted_at is not None), default=now)
    try:
        posted = datetime.fromtimestamp(float(outcome.ts), UTC)
    except (ValueError, OverflowError):
        return now
    return min(now, max(earliest, posted))


def _record(session: Session, worker: str, now: datetime, items: list[_Item], outcome: Outcome, note: str | None,
            *, report: DeliveryReport) -> list[MessageUpdate]:
    """Write down what became of these nudges. Returns the message to bring up to date once this has committed: one
    carrying a card someone handled while its post was on its way or unsettled (a touch logged meanwhile)."""
    held = held_attempts(session, [i.nudge_id for i in items], worker)
    ids = [i.nudge_id for i in items if i.nudge_id in held]  # a forgotten client's nudges are gone: skipped
    if not ids:
        return []
    if outcome.status == "sent":
        values: dict[str, Any] = {"status": "sent", "sent_at": _sent_at(items, outcome, note, now),
                                  "message_ts": outcome.ts, "channel_id": outcome.channel, "next_attempt_at": None}
        if note and note != "reconciled":
            values["fallback_reason"] = note[:64]
        mark_nudges(session, ids, worker, **values)
        if note == "reconciled":
            report.reconciled += len(ids)
        else:
            report.posted += len(ids)
            report.messages += 1
        if outcome.channel is None or outcome.ts is None:
            return []
        # A card handled meanwhile (a touch logged while the post was in flight, or before an unsettled one was found)
        # went out as it was claimed, open: its message is rebuilt, once it can be from every card it carries.
        carried = outcome.carries or tuple(i.nudge_id for i in items)
        workspace_id = handled_message(session, outcome.channel, outcome.ts, carried)
        if workspace_id is None:
            return []
        update = rebuilt(session, workspace_id, outcome.channel, outcome.ts, items[0].days.tz)
        return [update] if update else []
    if outcome.status == "dropped":
        mark_nudges(session, ids, worker, status="dropped", last_error=outcome.error, next_attempt_at=None)
        digests = sum(1 for i in items if i.nudge_id in held and i.digest is not None)
        report.superseded += digests
        report.dropped += len(ids) - digests
        return []
    attempts = max(held.values())
    if outcome.status == "permanent" or attempts >= MAX_ATTEMPTS:
        mark_nudges(session, ids, worker, status="failed", last_error=(outcome.error or "")[:200])
        report.failed += len(ids)
        log.warning("nudges %s failed for good: %s", ids, outcome.error)
        return []
    wait = timedelta(seconds=outcome.retry_after) if outcome.retry_after else _backoff(attempts)
    values = {"next_attempt_at": now + wait, "last_error": (outcome.error or "")[:200]}
    if outcome.status == "unknown":
        if outcome.channel:
            values["channel_id"] = outcome.channel
        mark_unknown(session, ids, worker, now, **values)
    else:
        # Only a nudge whose absence was seen may be posted without looking first; one whose earlier post is
        # still unaccounted for (no token now, the DM would not open, …) stays unknown until it is looked for.
        unseen = {i.nudge_id for i in items if i.was_unknown and not i.seen_missing}
        mark_nudges(session, [i for i in ids if i in unseen], worker, status="unknown", **values)  # as they were
        # An earlier post seen missing is no post at all: a later unknown outcome is looked for from its own moment
        mark_nudges(session, [i for i in ids if i not in unseen], worker, status="pending", sent_at=None, **values)
    report.retrying += len(ids)
    return []
