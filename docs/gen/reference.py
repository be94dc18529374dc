"""The reference pages' generated parts, read from the lists the code itself uses, and what is missing.

A reference page is written by hand, with a heading per item the code holds (`### /client add`, `### rapport
serve`, `### Gone quiet {#quiet}`, `### /healthz`, `### rapport_nudges`) and markers (`<!-- rapport:settings -->`)
where a generated table goes. `expand()` puts what the code says under each heading (a command's grammar, an
option table, a metric's type and help) and in place of each marker, and returns the problems: an item in the code
with no heading, a heading for an item the code no longer has, a heading with no text under it, a command without
an example. The MkDocs hook (docs/gen/hooks.py) turns problems into warnings, which `mkdocs build --strict` fails
on; tests/test_docs.py asserts there are none.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from sqlalchemy import create_engine

import bot
from bot.audit import COLUMNS as AUDIT_COLUMNS
from bot.audit import WORDS
from bot.bulk.csv_io import EXPORT_COLUMNS, IMPORT_COLUMNS
from bot.cli import _parser
from bot.clock import utcnow
from bot.commands import SUBCOMMANDS
from bot.commands.usage import SUMMARY, USAGE
from bot.nudges.ranking import STRENGTH, URGENT_KINDS
from bot.nudges.sweep import KIND_WORDS
from bot.reviews.export import COLUMNS as REVIEW_COLUMNS
from bot.server.metrics import STATUSES, Metrics
from bot.server.web import KNOWN_PATHS
from storage.models import Base

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ENV_EXAMPLE = ROOT / ".env.example"
BOT = Path(bot.__file__).resolve().parent

# Environment variables the code reads that are not Rapport's settings: the terminal's own.
NOT_SETTINGS = frozenset({"TERM"})
SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass
class Page:
    """What one reference page must hold: a heading per item (`heading` finds an item's name in a heading line),
    the generated text under each, the generated tables for its markers, and any check of its own."""

    items: Callable[[], Mapping[str, str]]  # name -> markdown put under its heading
    heading: re.Pattern[str]
    markers: Callable[[], Mapping[str, str]] = dict
    example: Callable[[str], re.Pattern[str]] | None = None  # a line an item's own text must contain
    check: Callable[[str], list[str]] = lambda _text: []
    what: str = "item"


# ---------------------------------------------------------------------------------------------- /client commands


def client_commands() -> dict[str, list[str]]:
    """Each `/client` subcommand the dispatcher knows, with its aliases (names that run the same function)."""

    names: dict[object, list[str]] = {}
    for name, handler in SUBCOMMANDS.items():
        names.setdefault(handler, []).append(name)
    return {found[0]: found[1:] for found in names.values()}


def _client_items() -> dict[str, str]:

    items = {}
    for name, aliases in client_commands().items():
        grammar = USAGE.get(name)
        forms = [f.strip() for f in grammar.split("   |   ")] if grammar else [f"/client {name}"]
        text = "```text\n" + "\n".join(forms) + "\n```\n"
        if aliases:
            text += "\nAlso: " + ", ".join(f"`/client {a}`" for a in aliases) + "\n"
        items[name] = text
    return items


def _client_markers() -> dict[str, str]:

    rows = [f"| [`/client {name}`](#client-{name}) | {SUMMARY.get(name, '')} |" for name in client_commands()]
    return {"client-commands": "| command | what it does |\n|---|---|\n" + "\n".join(rows)}


def _client_check(text: str) -> list[str]:

    return [f"/client {name} has no grammar in bot/commands/usage.py (USAGE)"
            for name in client_commands() if name not in USAGE]


# ---------------------------------------------------------------------------------------------- rapport commands


def _subcommands() -> tuple[argparse._SubParsersAction[argparse.ArgumentParser], dict[str, str]]:

    parser = _parser()
    found = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return found, {a.dest: a.help or "" for a in found._choices_actions}


def rapport_commands() -> list[str]:
    return list(_subcommands()[0].choices)


def _usage(sub: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(sub.prog, width=1000)  # one line, whatever the terminal's width
    shown = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
    formatter.add_usage(sub.usage, shown, sub._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _rapport_items() -> dict[str, str]:
    subparsers, _helps = _subcommands()
    items = {}
    for name, sub in subparsers.choices.items():
        text = f"```text\n{_usage(sub)}\n```\n"
        rows = []
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            shown = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.metavar or action.dest}`"
            default = action.default not in (None, False)
            rows.append(f"| {shown} | {'required' if action.required else ''} | {action.help or ''} | "
                        f"{f'`{action.default}`' if default else ''} |")
        if rows:
            text += "\n| argument | | what | default |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        items[name] = text
    return items


def _rapport_markers() -> dict[str, str]:
    _subparsers, helps = _subcommands()
    rows = [f"| [`rapport {name}`](#rapport-{name}) | {helps.get(name, '')} |" for name in rapport_commands()]
    return {"rapport-commands": "| command | what it does |\n|---|---|\n" + "\n".join(rows)}


# ---------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Setting:
    name: str
    where: str  # the module that reads it
    default: str | None = None  # from the code (a whole number's default), else .env.example's value
    bounds: tuple[str, str] | None = None


def _constant(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        return str(node.value)
    return None


def _is_environment(node: ast.AST) -> bool:
    """`env` (the mapping settings are read from) or `os.environ`."""
    return (isinstance(node, ast.Name) and node.id == "env") or (
        isinstance(node, ast.Attribute) and node.attr == "environ")


def settings_in(sources: Mapping[str, str]) -> dict[str, Setting]:
    """Every environment variable the given modules read: `env.get("X")`, `os.environ["X"]`, or a helper called
    as `helper(env, "X", …)` (settings.py's `_optional`, `_token`, `_int`, whose default and bounds are read too)."""
    found: dict[str, Setting] = {}
    for where, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            name, default, bounds = None, None, None
            if isinstance(node, ast.Call) and len(node.args) >= 2 and _is_environment(node.args[0]):
                name = _constant(node.args[1])
                if len(node.args) >= 5:
                    default = _constant(node.args[2])
                    low, high = _constant(node.args[3]), _constant(node.args[4])
                    bounds = (low, high) if low is not None and high is not None else None
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and _is_environment(node.func.value) and node.args:
                name = _constant(node.args[0])
            elif isinstance(node, ast.Subscript) and _is_environment(node.value):
                name = _constant(node.slice)
            if name and SETTING_NAME.fullmatch(name) and name not in NOT_SETTINGS:
                known = found.get(name)
                if known is None or (known.default is None and default is not None):
                    found[name] = Setting(name, where, default, bounds)
    return found


def code_settings() -> dict[str, Setting]:
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(BOT.rglob("*.py"))}
    return settings_in(sources)


def env_example(text: str | None = None) -> dict[str, tuple[str, str]]:
    """.env.example's variables: name -> (value, the comment above its group of lines)."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8") if text is None else text
    entries: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        elif "=" in line:
            name = line.split("=", 1)[0].strip()
            entries[name] = ("", " ".join(comment))
    values = dotenv_values(stream=io.StringIO(text))
    return {name: (values.get(name) or "", words) for name, (_, words) in entries.items()}


def settings_problems(code: Mapping[str, Setting], documented: Mapping[str, tuple[str, str]]) -> list[str]:
    problems = [f"{name} is read by {s.where} but not in .env.example (add it there, with a comment saying what "
                "it does)" for name, s in code.items() if name not in documented]
    problems += [f"{name} is in .env.example but nothing in bot/ reads it" for name in documented
                 if name not in code]
    problems += [f"{name} has no comment in .env.example saying what it does" for name, (_, words)
                 in documented.items() if name in code and not words]
    return problems


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_table() -> str:
    code, documented = code_settings(), env_example()
    rows = []
    for name, (value, words) in documented.items():
        setting = code.get(name)
        if setting is None:
            continue
        default = setting.default if setting.default is not None else value
        shown = f"`{default}`" if default else "—"
        if setting.bounds:
            shown += f" ({setting.bounds[0]}–{setting.bounds[1]})"
        rows.append(f"| <span id=\"{name.lower()}\"></span>`{name}` | {shown} | {_escape_cell(words)} |")
    return "| variable | default | what it does |\n|---|---|---|\n" + "\n".join(rows)


def _settings_check(_text: str) -> list[str]:
    return settings_problems(code_settings(), env_example())


# ------------------------------------------------------------------------------------------------- nudge kinds


def nudge_kinds() -> dict[str, str]:

    items = {}
    for kind, word in KIND_WORDS.items():
        parts = [f"In a sweep's summary: `{word}`"]
        if kind in STRENGTH:
            parts.append(f"focus weighs it {STRENGTH[kind]:g}")
            if kind in URGENT_KINDS:
                parts.append("shown on its first workday ahead of the ranked lane")
        else:
            parts.append("not a card: focus does not rank it")
        items[kind] = "<small>" + " · ".join(parts) + "</small>\n"
    return items


def _nudge_check(_text: str) -> list[str]:

    return [f"bot/nudges/ranking.py weighs a kind the sweep does not name: {k}" for k in STRENGTH
            if k not in KIND_WORDS]


# ------------------------------------------------------------------------------------------ endpoints and metrics


def endpoints() -> dict[str, str]:

    return {path: "" for path in KNOWN_PATHS}


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


def metrics() -> dict[str, Metric]:
    """What GET /metrics serves, read from a real registry over an empty database."""


    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    try:
        served = Metrics(engine, "token", utcnow)
        served.latency.labels(path="/healthz").observe(0)  # a histogram shows its labels once it has a sample
        found = {}
        for family in served.registry.collect():
            labels = tuple(sorted({k for s in family.samples for k in s.labels} - {"le"}))
            values: dict[str, tuple[str, ...]] = {"status": STATUSES, "path": (*KNOWN_PATHS, "other")}
            found[family.name] = Metric(family.name, family.type, family.documentation, labels, values)
        return found
    finally:
        engine.dispose()


def _metric_items() -> dict[str, str]:
    items = {}
    for name, metric in metrics().items():
        shown = name + ("_bucket, _sum, _count" if metric.kind == "histogram" else "")
        text = f"`{shown}` · {metric.kind}"
        for label in metric.labels:
            values = metric.values.get(label) if label in metric.labels else None
            text += f" · label `{label}`" + (": " + ", ".join(f"`{v}`" for v in values) if values else "")
        items[name] = f"{text}\n\n> {metric.help}\n"
    return items


# ------------------------------------------------------------------------------------------------------ CSV files


def _columns(columns: Iterable[str]) -> str:
    return "`" + "`, `".join(columns) + "`"


def _csv_markers() -> dict[str, str]:

    actions = "| action | shown in `status` as |\n|---|---|\n" + "\n".join(
        f"| `{action}` | @who {words} |" for action, words in WORDS.items())
    return {"csv-import": _columns(IMPORT_COLUMNS), "csv-export": _columns(EXPORT_COLUMNS),
            "csv-reviews": _columns(REVIEW_COLUMNS), "csv-audit": _columns(AUDIT_COLUMNS), "audit-actions": actions}


def _csv_check(text: str) -> list[str]:

    return [f"the import column {c} is not described (write `{c}` in the text about importing)"
            for c in IMPORT_COLUMNS if f"`{c}`" not in text]


# ---------------------------------------------------------------------------------------------------- the pages


def _example(command: str) -> Callable[[str], re.Pattern[str]]:
    return lambda name: re.compile(rf"^\s*{command} {re.escape(name)}\b", re.MULTILINE)


PAGES: dict[str, Page] = {
    "reference/client.md": Page(_client_items, re.compile(r"^### /client ([a-z-]+)\s*$"), _client_markers,
                                example=_example("/client"), check=_client_check, what="/client subcommand"),
    "reference/cli.md": Page(_rapport_items, re.compile(r"^### rapport ([a-z-]+)\s*$"), _rapport_markers,
                             example=_example("rapport"), what="rapport command"),
    "reference/settings.md": Page(dict, re.compile(r"^### (?!)"), lambda: {"settings": settings_table()},
                                  check=_settings_check, what="setting"),
    "reference/nudges.md": Page(nudge_kinds, re.compile(r"^### .*\{#([a-z_]+)\}\s*$"), check=_nudge_check,
                                what="nudge kind"),
    "reference/http.md": Page(endpoints, re.compile(r"^### (/\S*)\s*$"), what="endpoint"),
    "reference/metrics.md": Page(_metric_items, re.compile(r"^### ([a-z_]+)\s*$"), what="metric"),
    "reference/csv.md": Page(dict, re.compile(r"^### (?!)"), _csv_markers, check=_csv_check, what="column"),
}
MARKER = re.compile(r"^<!-- rapport:([a-z-]+) -->\s*$")


def _sections(lines: list[str], heading: re.Pattern[str]) -> list[tuple[int, str, list[str]]]:
    """(line number, item name, the lines of its own text up to the next heading) for each item heading."""
    outside = _outside_code(lines)
    found = []
    for number, line in enumerate(lines):
        match = heading.match(line) if outside[number] else None
        if match:
            body = []
            for following in range(number + 1, len(lines)):
                if outside[following] and lines[following].startswith("#"):
                    break
                body.append(lines[following])
            found.append((number, match.group(1), body))
    return found


def _outside_code(lines: list[str]) -> list[bool]:
    """For each line, whether it is outside a fenced code block (where `#` starts a comment, not a heading)."""
    outside, fence = [], None
    for line in lines:
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            outside.append(False)
        elif fence is not None:
            outside.append(False)
            if stripped.startswith(fence):
                fence = None
        else:
            outside.append(True)
    return outside


def expand(path: str, markdown: str) -> tuple[str, list[str]]:
    """The page with its generated parts in place, and what is missing or stale (empty when all is well)."""
    page = PAGES.get(path)
    if page is None:
        return markdown, []
    items, markers = page.items(), page.markers()
    lines = markdown.splitlines()
    sections = _sections(lines, page.heading)
    problems = [f"{page.what} {name!r} is in the code but has no '### …' section here"
                for name in items if name not in {s[1] for s in sections}]
    for _number, name, body in sections:
        text = "\n".join(body)
        if name not in items:
            problems.append(f"{page.what} {name!r} has a section here but is no longer in the code")
        elif not text.strip():
            problems.append(f"{page.what} {name!r} has no text saying what it does")
        elif page.example is not None and not page.example(name).search(text):
            problems.append(f"{page.what} {name!r} has no example (a line starting with the command itself)")
    present = {found.group(1) for line in lines if (found := MARKER.match(line))}
    problems += [f"marker <!-- rapport:{m} --> is not in the page" for m in markers if m not in present]
    problems += page.check(markdown)
    out: list[str] = []
    starts = {number: name for number, name, _ in sections}
    for number, line in enumerate(lines):
        marker = MARKER.match(line)
        if marker and marker.group(1) in markers:
            out += ["", markers[marker.group(1)], ""]
            continue
        out.append(line)
        if number in starts and starts[number] in items and items[starts[number]]:
            out += ["", items[starts[number]].rstrip("\n"), ""]
    return "\n".join(out) + "\n", problems


def check_all() -> list[str]:
    """Every reference page's problems, each prefixed with its page."""
    problems = []
    for path in PAGES:
        source = DOCS / path
        if not source.exists():
            problems.append(f"{path}: the page is missing")
            continue
        problems += [f"{path}: {p}" for p in expand(path, source.read_text(encoding="utf-8"))[1]]
    return problems
