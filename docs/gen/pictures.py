"""`python -m docs.gen.pictures`: the pictures in docs/pictures/, drawn from what Rapport really posts.

A seeded demo portfolio and one client with a month of history, built through the real Bolt app and the offline
shell's loopback Slack (the shell's own session: commands, clicks and sweeps as a person makes them), on fixed
days, so the same code draws the same pictures. Run it after changing anything a person sees in Slack, and commit
what it writes; tests/test_docs.py fails while the committed pictures differ from what it draws.

    python -m docs.gen.pictures            # writes docs/pictures/
    python -m docs.gen.pictures OUT_DIR    # elsewhere
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import BoltRequest

from bot.app import Inline, build_app
from bot.bulk.csv_io import pick_workspace
from bot.bulk.demo import seed
from bot.database import open_database
from bot.settings import Settings
from bot.shell.console_slack import ConsoleSlack
from bot.shell.repl import TEAM, ShellSession
from bot.slack.people import StaticDirectory
from docs.gen import svg

OUT = Path(__file__).resolve().parents[1] / "pictures"
TZ = ZoneInfo("UTC")
NAMES = {"UYOU": "Maya", "UANA": "Ana", "UBEN": "Ben", "UCHLOE": "Chloe"}  # the shell's user is Maya here
SVGS = ("nudge-cards.svg", "client-card.svg", "app-home.svg", "shared-review.svg")
CHART = "shared-review-chart.png"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recording(ShellSession):
    """The shell's session, keeping every message it is shown as Block Kit as well as text."""

    shown: list[dict[str, Any]]

    def _show(self, message: dict[str, Any]) -> str:
        self.shown.append(message)
        return super()._show(message)

    def run(self, line: str) -> list[dict[str, Any]]:
        self.shown = []
        answer = self.handle(line)
        if answer and answer.startswith("⚠️"):
            raise RuntimeError(f"{line!r} was refused: {answer}")
        return self.shown

    def display(self, slack_id: str) -> str:
        return NAMES.get(slack_id) or self.name_of(slack_id)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _home(shell: Recording, user: str) -> dict[str, Any]:
    body = {"type": "event_callback", "team_id": TEAM, "event_id": "EvPictures", "event_time": 1,
            "event": {"type": "app_home_opened", "user": user, "tab": "home"}}
    shell.console.drain()
    shell.app.dispatch(BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]}))
    published = [m for m in shell.console.drain() if "view" in m]
    view = published[-1]["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def _one(messages: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    found = [m for m in messages if m.get("channel") == channel and m.get("blocks")]
    if not found:
        raise RuntimeError(f"nothing was posted to {channel}: {[m.get('channel') for m in messages]}")
    return found[0]


def draw(out: Path = OUT) -> list[Path]:
    """Build the scene and write every picture into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, ConsoleSlack(Path(scratch)) as console:
        clock = Clock(_at("2026-11-02T09:30"))
        settings = Settings(database_url=f"sqlite:///{scratch}/pictures.db", slack_bot_token="xoxb-shell",
                            slack_signing_secret="shell", slack_api_url=console.url + "/api/", digest=None)
        database = open_database(settings)
        try:
            with database.sessions.begin() as session:
                seed(session, pick_workspace(session, TEAM, clock()), 16, clock(), owners=list(NAMES))
            app = build_app(settings, database.sessions, directory=StaticDirectory(TZ), clock=clock,
                            verify_requests=False, process_before_response=True, workers=Inline())
            shell = Recording(app, settings, console, database, clock)
            written = _scenes(shell, clock, out, Path(scratch))
        finally:
            database.engine.dispose()
    return written


def _scenes(shell: Recording, clock: Clock, out: Path, scratch: Path) -> list[Path]:
    def write(name: str, picture: str) -> Path:
        path = out / name
        path.write_text(picture, encoding="utf-8")
        return path

    def drawn(message: Mapping[str, Any], where: str, *, only_you: bool = False) -> str:
        return svg.message(message, where=where, name_of=shell.display, tz=TZ, now=clock(), only_you=only_you)

    for line in ("/client add Acme Corp every 2w contact Jane Doe", "/client value acme 250k",
                 "/client contact acme Sam Lee sponsor", "/client link acme #acme-shared",
                 "/client log acme call with Jane : talked budgets for next year",
                 "/client log acme help from with Jane : asked us to review their renewal terms",
                 "/client promise acme the revised proposal by friday",
                 "/client goal acme renew with 20 more seats by 2027-03-31 odds 70 : budget freeze; new CFO",
                 "/client referral acme -> Beta Ltd : met at the summit"):
        shell.run(line)
    clock.now = _at("2026-11-09T14:00")
    for line in ("/client log acme meeting with Jane : quarterly review, Sam joined", "/client kept acme",
                 "/client log acme acted : they moved the launch as we suggested",
                 "/client issue acme invoices show the wrong VAT eta 2026-11-13",
                 "/client promise acme a draft contract by 2026-11-27"):
        shell.run(line)
    clock.now = _at("2026-11-16T11:00")
    shell.run("/client log acme email to with Jane")
    written = [write("client-card.svg", drawn(shell.run("/client status acme")[-1], "#general", only_you=True))]

    clock.now = _at("2026-11-23T10:00")
    swept = shell.run("sweep --at 2026-11-23T10:00Z")
    written.append(write("nudge-cards.svg", drawn(_one(swept, "DYOU"), "Rapport")))
    written.append(write("app-home.svg", svg.home(_home(shell, "UYOU"), name_of=shell.display, tz=TZ, now=clock())))

    clock.now = _at("2026-12-01T10:00")
    monthly = _one(shell.run("sweep --at 2026-12-01T10:00Z"), "DYOU")
    shell._show(monthly)  # its buttons are the ones `click` presses, as in the shell after reading it
    share = next(n for n, b in enumerate(shell.buttons, 1) if b["action_id"] == "review_share")  # Acme comes first
    clock.now = _at("2026-12-01T10:05")
    assert shell.run(f"click {share}") == []  # Slack's confirm first: it posts into the client's channel for good
    shared = _one(shell.run("click 1"), shell.escape("#acme-shared")[2:].split("|")[0])
    written.append(write("shared-review.svg", drawn(shared, "#acme-shared")))
    charts = sorted(scratch.glob("rapport-review-*.png"))
    if charts:
        shutil.copyfile(charts[0], out / CHART)
        written.append(out / CHART)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    for path in draw(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
