"""The composition root: the one place the Bolt app is assembled from settings, storage and handlers."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utcnow
from bot.settings import Settings
from bot.slack.authorizations import authorizations_lister
from bot.slack.installs import bot_token_authorize, bot_token_finder, mark_installed, oauth_settings
from bot.slack.people import Directory, SlackDirectory
from handlers import actions, commands, errors, events, home, lifecycle, nudges, reviews, shortcuts, views

T = TypeVar("T")


class Inline(Executor):
    """Runs each task as it is submitted: in the shell a command's answer is there when dispatch returns."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Backlog:
    """Work acknowledged to Slack and not yet done, across every pool it passes through: Bolt's listeners, capture,
    answers, their posting. Slack never retries what was answered 200, so a stopping server waits for this to be
    done before it exits (PRODUCT.md §8). Each hand-over happens inside the task handing over, so the count never
    reads zero while work moves from one pool to the next."""

    def __init__(self) -> None:
        self._pending = 0
        self._changed = threading.Condition()

    def pool(self, workers: int, name: str, initializer: Callable[[], None] | None = None) -> ThreadPoolExecutor:
        return _Counted(self, workers, name, initializer)

    def pending(self) -> int:
        with self._changed:
            return self._pending

    def wait(self, deadline: float) -> int:
        """Wait until everything acknowledged is done, or the deadline (time.monotonic()); how much was left."""
        with self._changed:
            self._changed.wait_for(lambda: self._pending == 0, max(0.0, deadline - time.monotonic()))
            return self._pending

    def _add(self, count: int) -> None:
        with self._changed:
            self._pending += count
            self._changed.notify_all()


class _Counted(ThreadPoolExecutor):
    def __init__(self, backlog: Backlog, workers: int, name: str,
                 initializer: Callable[[], None] | None = None) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=name, initializer=initializer)
        self._backlog = backlog

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def counted() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                self._backlog._add(-1)

        self._backlog._add(1)
        try:
            return super().submit(counted)
        except BaseException:
            self._backlog._add(-1)
            raise


def _pool(workers: int, name: str, initializer: Callable[[], None] | None = None) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name, initializer=initializer)


ANSWER_NICE = 5  # an answer thread's CPU share beside the threads acknowledging requests: about a third of theirs


def _behind_acknowledgements() -> None:
    """In an answer thread as it starts: a lower CPU priority than the threads that acknowledge (Linux schedules
    threads, and a thread's nice value is its own), so on a busy machine an acknowledgement is not kept waiting for
    a core by the answers worked out after earlier ones (PRODUCT.md §7, bench/ack_latency.py)."""
    with contextlib.suppress(OSError, AttributeError):  # another system: the same priority as the rest
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + ANSWER_NICE)


def build_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    directory: Directory | None = None,
    clock: Clock = utcnow,
    verify_requests: bool = True,
    process_before_response: bool = False,
    workers: Executor | None = None,
    capture_workers: Executor | None = None,
    posting: Executor | None = None,
    backlog: Backlog | None = None,
) -> App:
    """A Bolt app that talks to `settings.slack_api_url`.

    The offline shell turns request verification off because it builds its requests itself and has no
    signing secret, and processes before responding so a click's result is there when dispatch returns;
    everything served over HTTP keeps the defaults.

    `workers` runs slash commands after their acknowledgement (see handlers/commands.py); the shell passes
    one that runs them at once, so the answer is there when dispatch returns. `capture_workers` records the
    messages of linked channels, one at a time by default (handlers/events.py). `posting` sends worked-out answers
    to Slack, so answer threads never wait on Slack's reply: a pool of its own unless the caller brought its own
    `workers` (and then the answer thread posts, as the shell needs). `backlog`: every pool that runs work after
    its acknowledgement counts it there, so a stopping server can finish it first (bot/server/serve.py).
    """
    pool = backlog.pool if backlog is not None else _pool
    # Bolt runs listeners (and lazy ones) here once an event is acknowledged: its own default, five threads
    listeners = pool(5, "rapport-listener")
    if settings.oauth:
        app = App(
            client=WebClient(base_url=settings.slack_api_url, timeout=10),
            signing_secret=settings.slack_signing_secret or "",
            oauth_settings=oauth_settings(settings, engine_of(session_factory),
                                          on_installed=lambda i: _reinstalled(session_factory, i)),
            request_verification_enabled=verify_requests,
            process_before_response=process_before_response,
            logger=logging.getLogger("rapport.bolt"),
            listener_executor=listeners,
        )
    else:
        assert settings.slack_bot_token is not None, "single-workspace mode needs SLACK_BOT_TOKEN"
        app = App(
            client=WebClient(base_url=settings.slack_api_url, timeout=10),
            authorize=bot_token_authorize(settings.slack_bot_token),  # start-up and requests never wait on Slack
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=verify_requests,
            process_before_response=process_before_response,
            logger=logging.getLogger("rapport.bolt"),
            listener_executor=listeners,
        )
    directory = directory or SlackDirectory(settings.tz)
    errors.register(app)
    # Bolt tries listeners in the order they are registered, building each one's arguments to match it: the
    # busiest request, a message in a linked channel, goes first so its acknowledgement does not wait on 20
    # others (bench/ack_latency.py --with-events).
    capture_workers = capture_workers or pool(1, "rapport-capture")
    lister = (authorizations_lister(settings.slack_api_url, settings.slack_authorizations_token)
              if settings.slack_authorizations_token else None)
    token = settings.slack_bot_token
    token_for = bot_token_finder(app.installation_store) if app.installation_store is not None else \
        lambda _enterprise, _team: token  # one bot token for every workspace
    events.register(app, session_factory, directory, clock, capture_workers, lister, token_for)
    if workers is None:
        workers = pool(settings.command_workers, "rapport-command", _behind_acknowledgements)
        # posting is waiting on Slack, not work for the interpreter: a few threads, so a slow reply holds up nobody
        posting = posting or pool(4, "rapport-post")
    commands.register(app, session_factory, directory, clock, workers, settings.update_every, settings, posting)
    actions.register(app, session_factory, directory, clock)
    home.register(app, session_factory, directory, clock, settings)
    nudges.register(app, session_factory, directory, clock, settings)
    views.register(app, session_factory, directory, clock, settings)
    shortcuts.register(app, session_factory, directory, clock)
    reviews.register(app, session_factory, directory, clock, settings)
    # In every mode: the manifest subscribes these events whichever way the app is installed, and Slack retries
    # any answer but a 2xx. Single-workspace mode has no installation store (store None).
    lifecycle.register(app, session_factory, app.installation_store if settings.oauth else None, clock)
    return app


def engine_of(session_factory: sessionmaker[Session]) -> Engine:
    bind = session_factory.kw.get("bind")
    assert isinstance(bind, Engine), "the session factory is bound to the engine"
    return bind


def _reinstalled(session_factory: sessionmaker[Session], installation: Installation) -> None:
    with session_factory.begin() as session:
        mark_installed(session, installation.enterprise_id, None if installation.is_enterprise_install
                       else installation.team_id)
