"""`rapport shell`: type `/client …` and see what Slack would show, through the real Bolt dispatch."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest

from bot.app import Inline, build_app
from bot.capture.mail.meetings import materialise_due
from bot.cli_time import parse_instant
from bot.clock import Clock, utcnow
from bot.database import Database, open_database
from bot.nudges.sweep import delivery_client, sweep
from bot.settings import Settings, SettingsError
from bot.shell.console_slack import ConsoleSlack
from bot.shell.render_text import render
from bot.slack.people import StaticDirectory

TEAM = "TSHELL"
ME = "you"
HISTORY = Path.home() / ".rapport_history"
BANNER = ("Rapport shell: type /client commands as in Slack (try /client help). `click N` presses a button, "
          "`sweep [--at 2026-12-01T10:00Z]` runs a nudge pass, `home` shows your App Home, `quit` leaves.")


def _slack_id(prefix: str, name: str) -> str:
    return prefix + (re.sub(r"[^A-Z0-9]", "", name.upper()) or "X")


@dataclass
class ShellSession:
    """The shell's side of Slack: it escapes text as Slack does and remembers who and what it named."""

    app: App
    settings: Settings
    console: ConsoleSlack
    database: Database
    clock: Clock = utcnow
    names: dict[str, str] = field(default_factory=dict)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    on_home: bool = False  # the buttons shown last are App Home's (a click's payload says so, as Slack's does)

    def __post_init__(self) -> None:
        self.names[_slack_id("U", ME)] = ME

    def name_of(self, slack_id: str) -> str:
        return self.names.get(slack_id, slack_id)

    def escape(self, text: str) -> str:
        """What Slack sends with should_escape on: &<> as entities, @people and #channels as tokens."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        def person(match: re.Match[str]) -> str:
            if match.group(1) in ("channel", "here", "everyone"):
                return f"<!{match.group(1)}>"
            slack_id = _slack_id("U", match.group(1))
            self.names[slack_id] = match.group(1)
            return f"<@{slack_id}|{match.group(1)}>"

        def room(match: re.Match[str]) -> str:
            slack_id = _slack_id("C", match.group(1))
            self.names[slack_id] = match.group(1)
            return f"<#{slack_id}|{match.group(1)}>"

        text = re.sub(r"(?<![\w&])@([\w.\-]+)", person, text)
        return re.sub(r"(?<![\w&])#([\w\-]+)", room, text)

    def _show(self, message: dict[str, Any]) -> str:
        view = message.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        self.on_home = isinstance(view, dict) and view.get("type") == "home"
        shown, self.buttons = render(view if self.on_home and isinstance(view, dict) else message, self.settings.tz,
                                     self.name_of)
        return shown

    def command(self, line: str) -> str:
        text = line.strip()[len("/client"):].strip()
        form = {
            "command": "/client", "text": self.escape(text), "team_id": TEAM, "team_domain": "shell",
            "user_id": _slack_id("U", ME), "user_name": ME, "channel_id": "CSHELL", "channel_name": "shell",
            "response_url": f"{self.console.url}/response", "trigger_id": "shell",
        }
        response = self.app.dispatch(BoltRequest(body=urlencode(form), headers={
            "content-type": ["application/x-www-form-urlencoded"]}))
        shown = [self._show(json.loads(response.body))] if response.body else []
        for posted in self.console.drain():
            if "_opened" in posted:
                return ("(In Slack this opens the “Log a touch” form. Here, type "
                        "/client log <client> <kind> [from|to] [<when>] [: <note>])")
            shown.append(self._show(posted))
        return "\n".join(shown)

    def click(self, which: str) -> str:
        try:
            button = self.buttons[int(which) - 1]
        except (ValueError, IndexError):
            labels = [b["text"]["text"] for b in self.buttons]
            matches = [i for i, label in enumerate(labels) if label.lower() == which.lower()]
            if not matches:
                return "No such button here." if not labels else f"Buttons: {', '.join(labels)}"
            button = self.buttons[matches[0]]
        if button.get("_deny"):
            self.buttons = button["_deny"]  # as in Slack, the message and its buttons stay as they were
            return "Cancelled: nothing changed."
        button = button.get("_proceed") or button
        if button.get("confirm") and not button.get("_confirmed"):
            return self._confirm(button)
        self.buttons = []
        container = {"type": "view", "view_id": "VHOME"} if self.on_home else {"type": "message",
                                                                                "is_ephemeral": True}
        payload = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "shell"},
            "user": {"id": _slack_id("U", ME), "name": ME, "team_id": TEAM},
            "response_url": f"{self.console.url}/response", "trigger_id": "shell",
            "container": container, "channel": {"id": "CSHELL"},
            **({"view": {"id": "VHOME", "type": "home"}} if self.on_home else {}),
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": button["block_id"],
                         "value": button.get("value", ""), "action_ts": "0"}],
        }
        self.app.dispatch(BoltRequest(body=urlencode({"payload": json.dumps(payload)}), headers={
            "content-type": ["application/x-www-form-urlencoded"]}))
        shown = []
        for posted in self.console.drain():
            if "_opened" in posted:
                opened = posted["_opened"]
                title = opened.get("title", {}).get("text", "") if isinstance(opened, dict) else ""
                shown.append(f"(In Slack this opens “{title}”. Here, type the /client command instead.)")
            else:
                shown.append(self._show(posted))
        return "\n".join(shown)

    def _confirm(self, button: dict[str, Any]) -> str:
        """Slack asks before a button that ends something for good (its `confirm`); so does the shell: the dialog
        as text, with its two answers as the buttons to click."""
        dialog = button["confirm"]
        self.buttons = [{"text": dialog["confirm"], "_proceed": {**button, "_confirmed": True}},
                        {"text": dialog["deny"], "_deny": self.buttons}]
        return (f"{dialog['title']['text']}\n{dialog['text']['text']}\n"
                f"[{dialog['confirm']['text']}]  [{dialog['deny']['text']}]   (click 1-2)")

    def home(self) -> str:
        """`home`: the App Home tab, as Slack would publish it when you open it."""
        body = json.dumps({"type": "event_callback", "team_id": TEAM, "api_app_id": "ASHELL", "event_id": "EvHOME",
                           "event_time": 0, "event": {"type": "app_home_opened", "user": _slack_id("U", ME),
                                                      "tab": "home", "channel": "DSHELL", "event_ts": "0.0"}})
        self.console.drain()
        self.app.dispatch(BoltRequest(body=body, headers={"content-type": ["application/json"]}))
        return "\n".join(self._show(m) for m in self.console.drain() if "_opened" not in m)

    def sweep(self, args: list[str]) -> str:
        """`sweep [--at ISO-8601] [--dry-run]`: one nudge pass, and what it posted, as Slack would show it."""
        dry_run = "--dry-run" in args
        rest = [a for a in args if a != "--dry-run"]
        try:
            now = parse_instant(rest[1]) if len(rest) == 2 and rest[0] == "--at" else self.clock()
            if rest and not (len(rest) == 2 and rest[0] == "--at"):
                return "Usage: sweep [--at 2026-12-01T10:00Z] [--dry-run]"
        except SettingsError as exc:
            return str(exc)
        self.console.drain()
        report = sweep(self.database, self.settings, delivery_client(self.settings), now, dry_run=dry_run,
                       capture=materialise_due)
        shown = [report.summary()]
        for posted in self.console.drain():
            where = str(posted.get("channel", ""))
            label = f"DM to @{self.name_of('U' + where[1:])}" if where.startswith("D") else f"#{self.name_of(where)}"
            shown.append(f"\n→ {label}\n" + self._show(posted))
        return "\n".join(shown)

    def handle(self, line: str) -> str | None:
        """One line of input; None means leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return ""
        word = line.split()[0].lower()
        if word in ("quit", "exit", "\\q"):
            return None
        if word == "/client":
            return self.command(line)
        if word == "click":
            return self.click(line[len("click"):].strip())
        if word == "sweep":
            return self.sweep(line.split()[1:])
        if word == "home":
            return self.home()
        if word == "help":
            return BANNER
        return ("Commands start with /client (try /client help); `click N` presses a button; "
                "`sweep [--at …] [--dry-run]` runs a nudge pass; `home` shows your App Home; `quit` leaves.")


def _lines(stream: TextIO, interactive: bool) -> Iterator[str]:
    if not interactive:
        yield from stream
        return
    try:
        import readline
    except ImportError:  # Windows: no line editing, still usable
        readline = None  # type: ignore[assignment]
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(HISTORY)
    try:
        while True:
            try:
                yield input("rapport> ")
            except EOFError:
                print()
                return
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(HISTORY)


def run_shell(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
              clock: Clock = utcnow) -> int:
    database = open_database(settings)
    interactive = stdin.isatty() and os.environ.get("TERM") != "dumb"
    with ConsoleSlack() as console:
        # The shell is one workspace talking to its own console, whatever the deployment's Slack settings are.
        shell_settings = Settings(**{**settings.__dict__, "slack_bot_token": "xoxb-shell",
                                     "slack_signing_secret": "shell", "slack_api_url": console.url + "/api/",
                                     "slack_client_id": None, "slack_client_secret": None, "slack_app_token": None})
        app = build_app(shell_settings, database.sessions, directory=StaticDirectory(settings.tz),
                        clock=clock, verify_requests=False, process_before_response=True,
                        workers=Inline())
        session = ShellSession(app, shell_settings, console, database, clock)
        if interactive:
            print(BANNER, file=stdout)
        for line in _lines(stdin, interactive):
            if not interactive and line.strip():
                print(f"> {line.rstrip()}", file=stdout)
            out = session.handle(line)
            if out is None:
                break
            if out:
                print(out + "\n", file=stdout, flush=True)
    database.engine.dispose()
    return 0
