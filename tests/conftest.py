from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

# slack_sdk honours proxy variables even for loopback addresses
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from bot.app import Inline, build_app
from bot.database import Database, open_database
from bot.server.mail_web import CardUpdates, MailWebhooks
from bot.server.metrics import Metrics
from bot.server.web import make_wsgi
from bot.settings import Settings
from storage.db import normalize_url
from storage.migrate import upgrade
from storage.models import Base
from tests.clock_shift import TODAY, pairs_a_date_with_the_machine_clock, shift_from_environment
from tests.fake_slack import FakeSlack
from tests.snapshots import BlockKit, Reading

CLOCK_OFFSET = shift_from_environment()

# Under CI the generated inputs are the same on every run, so a red CI always names a reproducible case;
# locally every run explores new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

PG_URL = os.environ.get("RAPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SIGNING_SECRET = "test-signing-secret"
MONDAY = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def pytest_report_header() -> str | None:
    if CLOCK_OFFSET is None:
        return None
    return f"clock moved: {TODAY}={os.environ[TODAY]} (offset {CLOCK_OFFSET:+.0f} s, this process and its children)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if pairs_a_date_with_the_machine_clock(Path(item.path)):
            item.add_marker(pytest.mark.machine_clock)


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(normalize_url(PG_URL), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A schema of our own in the shared test database, migrated once; dropped at the end."""
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); set CI=true to make this a failure")
    schema = f"rapport_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "rapport.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """An empty, migrated database: a fresh SQLite file, or the PostgreSQL schema emptied."""
    if request.param == "sqlite":
        path = tmp_path / "rapport.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(normalize_url(url))
    tables = ", ".join([t.name for t in Base.metadata.sorted_tables]
                       + ["slack_installations", "slack_bots", "slack_oauth_states"])
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(Settings(database_url=database_url))
    yield db
    db.engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(users={
        "UANA": {"tz": "Europe/London", "is_admin": False},
        "UBEN": {"tz": "America/Los_Angeles", "is_admin": False},
        "UADMIN": {"tz": "UTC", "is_admin": True},
        "UBOB": {"tz": "Europe/London", "is_admin": False},
    })
    yield fake
    fake.close()


@dataclass
class Clock:
    now: datetime = MONDAY

    def __call__(self) -> datetime:
        return self.now


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """Everything a person would read in the reply, blocks flattened to words."""
        return _words(self.json())


@dataclass
class Posted:
    """What the app sent to a response_url."""

    params: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @property
    def text(self) -> str:
        return _words(self.params)


def _words(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "date":
            return str(node.get("fallback", ""))
        if node.get("type") == "user":
            return "@" + str(node.get("user_id"))
        if node.get("type") == "channel":
            return "#" + str(node.get("channel_id"))
        if node.get("type") in ("text", "plain_text", "mrkdwn"):
            return str(node.get("text", ""))
        if node.get("type") == "emoji":
            return ""
        if "blocks" in node:
            return "\n".join(_words(b) for b in node["blocks"]) or str(node.get("text", ""))
        inner = "".join(_words(v) for k, v in node.items() if k in ("elements", "text", "fields"))
        return inner + "\n" if node.get("type") == "rich_text_section" else inner
    if isinstance(node, list):
        return "".join(_words(n) for n in node)
    return ""


@dataclass
class RapportServer:
    """The real Bolt app over real HTTP, as Slack would call it."""

    base: str
    database: Database
    fake: FakeSlack
    clock: Clock
    team: str = "T1"
    user: str = "UANA"
    responses: list[str] = field(default_factory=list)

    def post(self, body: str, headers: dict[str, str], path: str = "/slack/events") -> Response:
        request = urllib.request.Request(self.base + path, data=body.encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return Response(reply.status, reply.read().decode())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode())

    def get(self, path: str) -> Response:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as reply:
                return Response(reply.status, reply.read().decode())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode())

    def command(self, text: str, *, user: str | None = None, team: str | None = None, answered: bool = True,
                enterprise: str | None = None, org_wide: bool = False) -> Response:
        """Send `/client <text>`; returns the answer the app sent to response_url (it acknowledges empty first).

        `answered=False` is for commands whose result is elsewhere (a modal): the acknowledgement is returned.
        """
        response_path = f"response/{uuid.uuid4().hex[:8]}"
        body = urlencode({
            "token": "legacy", "team_id": team or self.team, "team_domain": "test", "channel_id": "CGENERAL",
            "channel_name": "general", "user_id": user or self.user, "user_name": "someone", "command": "/client",
            "text": text, "response_url": f"{self.fake.url}/{response_path}", "trigger_id": "t.1",
            **({"enterprise_id": enterprise} if enterprise else {}),
            **({"is_enterprise_install": "true"} if org_wide else {}),
        })
        reply = self.post(body, sign(body))
        assert reply.status == 200, reply.body
        if not answered or reply.body:
            return reply
        calls = self.fake.wait_for(response_path)
        assert calls, f"the app never answered /client {text}"
        return Response(200, json.dumps(calls[0].params))

    def interact(self, payload: dict[str, Any]) -> Response:
        """Any interactivity payload (block_actions, view_submission, block_suggestion), signed."""
        payload = {"team": {"id": self.team}, "user": {"id": self.user}, "api_app_id": "A1", **payload}
        body = urlencode({"payload": json.dumps(payload)})
        reply = self.post(body, sign(body))
        assert reply.status == 200, reply.body
        return reply

    def click(self, button: dict[str, Any], *, user: str | None = None, team: str | None = None) -> Posted:
        """Press a button from a reply; returns what the app sent back to response_url."""
        response_path = f"response/{uuid.uuid4().hex[:8]}"
        payload = {
            "type": "block_actions", "team": {"id": team or self.team}, "user": {"id": user or self.user},
            "response_url": f"{self.fake.url}/{response_path}", "trigger_id": "t.2",
            "container": {"type": "message", "is_ephemeral": True},
            "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"],
                         "block_id": "b", "action_ts": "1"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        reply = self.post(body, sign(body))
        assert reply.status == 200, reply.body
        calls = self.fake.wait_for(response_path)
        assert calls, "the app never answered the click"
        return Posted(calls[0].params)


def buttons(response: Response) -> list[dict[str, Any]]:
    return [e for block in response.json().get("blocks", []) if block["type"] == "actions" for e in block["elements"]]


@contextlib.contextmanager
def _served(settings: Settings, database: Database, fake_slack: FakeSlack,
            process_before_response: bool = False, answer_threads: int = 4) -> Iterator[RapportServer]:
    """`process_before_response`: Bolt runs event listeners before answering, so a test knows an event was
    handled when its request returns (the listeners are the same)."""
    clock = Clock()
    # More answer threads than production's one, so commands the tests send at once really run at once.
    workers = ThreadPoolExecutor(max_workers=answer_threads, thread_name_prefix="rapport-command")
    posting = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rapport-post")  # as served: answers sent apart
    app = build_app(settings, database.sessions, clock=clock, workers=workers, posting=posting,
                    process_before_response=process_before_response,
                    capture_workers=Inline() if process_before_response else None)
    metrics = Metrics(database.engine, settings.metrics_token, clock) if settings.metrics_token else None
    wsgi = make_wsgi(app, database.engine, metrics, signing_secret=settings.slack_signing_secret or SIGNING_SECRET,
                     mail=MailWebhooks(database.sessions, settings, now=clock,
                                       cards=CardUpdates(settings, database.sessions, database.engine)))
    server = make_server("127.0.0.1", 0, wsgi, server_class=ThreadingWSGIServer,
                         handler_class=_Quiet)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield RapportServer(f"http://127.0.0.1:{server.server_port}", database, fake_slack, clock)
    server.shutdown()
    server.server_close()
    workers.shutdown(wait=True)  # answers still being worked out finish before the database goes
    posting.shutdown(wait=True)  # and reach the fake Slack before it goes
    # and so do the listeners Bolt runs after acknowledging (an uninstall's, a home tab's): otherwise one still
    # queued runs after this test's fake Slack is gone, and logs its failure into the next test
    app.listener_runner.listener_executor.shutdown(wait=True)


PUBLIC_URL, MAIL_DOMAIN = "https://rapport.example.com", "mail.example.com"


@pytest.fixture
def rapport(database: Database, fake_slack: FakeSlack, database_url: str) -> Iterator[RapportServer]:
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, public_url=PUBLIC_URL, mail_domain=MAIL_DOMAIN)
    with _served(settings, database, fake_slack) as server:
        yield server


@pytest.fixture
def capturing(database: Database, fake_slack: FakeSlack, database_url: str) -> Iterator[RapportServer]:
    """Rapport that has handled each event by the time Slack's request returns (see _served)."""
    settings = Settings(database_url=database_url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url)
    with _served(settings, database, fake_slack, process_before_response=True) as server:
        yield server


OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET = "111.222", "oauth-client-secret"
SECRET_KEY = "V2pIMf18xoqYvqy4C0C60KDVLQwYElQdDqng1H8PvRM="  # a Fernet key for the tests' encrypted tokens
OTHER_KEY = "GUG6AKo8BE8biBDcjb3Gz00tD-HQIzEsA8_JbiUogP0="


def oauth_settings(database_url: str, fake_slack: FakeSlack, **overrides: Any) -> Settings:
    overrides.setdefault("secret_keys", (SECRET_KEY,))
    return Settings(database_url=database_url, slack_signing_secret=SIGNING_SECRET, slack_client_id=OAUTH_CLIENT_ID,
                    slack_client_secret=OAUTH_CLIENT_SECRET, slack_api_url=fake_slack.api_url, **overrides)


@pytest.fixture
def oauth_rapport(database: Database, fake_slack: FakeSlack, database_url: str) -> Iterator[RapportServer]:
    """Rapport offered to many workspaces: nothing is installed until a test goes through the OAuth flow."""
    with _served(oauth_settings(database_url, fake_slack), database, fake_slack) as server:
        yield server


@pytest.fixture
def blocks_snapshot(snapshot: Any) -> Any:
    """A message's or view's Block Kit, held in tests/snapshots/ (tests/snapshots.py says how to regenerate)."""
    return snapshot.use_extension(BlockKit)


@pytest.fixture
def text_snapshot(snapshot: Any) -> Any:
    """What a person reads of it: its notification text and the blocks as the shell renders them."""
    return snapshot.use_extension(Reading)
