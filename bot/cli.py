"""The `rapport` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot.cli_time import parse_instant
from bot.clock import utcnow
from bot.logs import configure as configure_logging
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # the commands import what they run when they run it: `rapport --help` stays quick
    from bot.bulk.csv_io import Someone
    from bot.database import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapport", description="Rapport keeps client relationships warm.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="serve Slack over HTTP on $PORT (Socket Mode with SLACK_APP_TOKEN)")
    worker = commands.add_parser("worker", help="run the scheduler alone")
    worker.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # set by serve: stop when it is gone
    sweep = commands.add_parser("sweep", help="one nudge pass")
    sweep.add_argument("--at", help="the instant to sweep as of (ISO-8601; without an offset, UTC)")
    sweep.add_argument("--dry-run", action="store_true", help="post nothing, write nothing")
    commands.add_parser("migrate", help="bring the database schema to the newest version")
    do_import = commands.add_parser("import", help="add or update clients from a CSV file")
    do_import.add_argument("file", type=Path)
    do_import.add_argument("--owner", help="Slack member id for rows without an owner")
    do_import.add_argument("--team", help="workspace (team id) to import into, if the database has several")
    export = commands.add_parser("export", help="write clients as CSV (to stdout without a file)")
    export.add_argument("file", nargs="?", type=Path)
    export.add_argument("--team")
    audit = commands.add_parser("audit", help="write the audit trail (who changed what) as CSV")
    audit.add_argument("file", nargs="?", type=Path)
    audit.add_argument("--team")
    reviews = commands.add_parser("reviews", help="the monthly reviews as CSV, one row per client")
    reviews.add_argument("--month", required=True, help="YYYY-MM (the current month: so far)")
    reviews.add_argument("--client", help="one client, by name")
    reviews.add_argument("--csv", required=True, type=Path, dest="file", help="the file to write")
    reviews.add_argument("--team")
    commands.add_parser("shell", help="offline console: type /client commands, see what Slack would show")
    seed = commands.add_parser("seed-demo", help="synthetic history for demos and benchmarks")
    seed.add_argument("--clients", type=int, default=100)
    seed.add_argument("--per-client", type=int, default=10, help="interactions per client (default 10)")
    seed.add_argument("--team", help="workspace (team id); default: the only one, else the shell's")
    seed.add_argument("--owner", help="your Slack member id, so the App Home shows you a portfolio")
    commands.add_parser("mail-server", help="receive client email over SMTP on $RAPPORT_SMTP_PORT (default 2525)")
    import_mail = commands.add_parser("import-mail", help="backfill email and meeting touches from an mbox, .eml or "
                                                          ".ics files, or a folder of them")
    import_mail.add_argument("path", type=Path)
    import_mail.add_argument("--team", help="workspace (team id) to import into, if the database has several")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_dotenv(Path.cwd() / ".env")
    try:
        settings = load_settings()
        # The shell and the CSV commands talk to a person: unless told otherwise, only warnings belong on their screen.
        quiet = args.command in ("shell", "import", "export", "audit", "seed-demo", "reviews", "import-mail")
        configure_logging(settings.log_level or ("WARNING" if quiet else "INFO"))
        return _run(args, settings)
    except SettingsError as exc:
        print(f"rapport: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "serve":
        settings.require_slack()
        from bot.server.serve import serve

        return serve(settings)
    if args.command == "shell":
        from bot.shell.repl import run_shell

        return run_shell(settings)
    if args.command == "sweep":
        return _sweep(args, settings)
    if args.command == "worker":
        return _worker(args, settings)
    if args.command == "seed-demo":
        return _seed_demo(args, settings)
    if args.command == "import":
        return _import(args, settings)
    if args.command == "export":
        return _export(args, settings)
    if args.command == "audit":
        return _audit(args, settings)
    if args.command == "reviews":
        return _reviews(args, settings)
    if args.command == "mail-server":
        from bot.server.smtp import serve_mail

        return serve_mail(settings)
    if args.command == "import-mail":
        return _import_mail(args, settings)
    raise AssertionError(args.command)


def _import_mail(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.bulk.csv_io import CsvError, pick_workspace
    from bot.capture.mail.backfill import backfill
    from bot.capture.mail.readers import mailbox_bytes, read_mailbox
    from bot.database import open_database
    from bot.slack.installs import token_team
    from bot.workspaces import tz_of

    if not args.path.exists():
        print(f"rapport import-mail: {args.path} does not exist", file=sys.stderr)
        return 2
    team = None if args.team else token_team(settings)  # asked before any transaction: it is a network call
    database = open_database(settings)
    now = utcnow()
    try:
        with database.sessions.begin() as session:
            workspace = pick_workspace(session, args.team, now, team)
            workspace_id, zone = workspace.id, tz_of(workspace, settings.tz)
        with tqdm(total=mailbox_bytes(args.path), unit="B", unit_scale=True, desc="importing mail", disable=None,
                  file=sys.stderr, leave=False) as bar:
            def read(size: int) -> None:
                bar.update(size)

            report = backfill(database.sessions, workspace_id, read_mailbox(args.path, now, progress=read),
                              now=now, zone=zone)
    except CsvError as exc:
        print(f"rapport import-mail: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
    for unread in report.unread[:50]:
        print(f"  {unread.where}: unreadable: {unread.why}")
    if len(report.unread) > 50:
        print(f"  … and {len(report.unread) - 50:,} more unreadable")
    print(f"{args.path}: {report.summary()}")
    return 0


def _migrate(settings: Settings) -> int:
    from bot.slack.tokens import TokenCipher, TokenKeyError, seal_stored_tokens
    from storage.db import make_engine
    from storage.migrate import head_revision, upgrade

    upgrade(settings.database_url)
    print(f"database is at schema version {head_revision()}")
    engine = make_engine(settings.database_url)
    try:
        sealed, plain = seal_stored_tokens(engine, TokenCipher(settings.secret_keys) if settings.secret_keys else None)
    except TokenKeyError as exc:
        raise SettingsError(str(exc)) from None
    finally:
        engine.dispose()
    if sealed:
        print(f"encrypted {sealed} stored Slack token{'s' if sealed != 1 else ''} with RAPPORT_SECRET_KEY")
    if plain:
        print(f"rapport: {plain} Slack token{'s are' if plain != 1 else ' is'} stored unencrypted; set "
              "RAPPORT_SECRET_KEY and run rapport migrate again", file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    from bot.capture.mail.meetings import materialise_due
    from bot.database import open_database
    from bot.nudges.sweep import slack_for, sweep

    now = parse_instant(args.at) if args.at else utcnow()
    if not args.dry_run:
        settings.require_slack(need_signing_secret=False)
    database = open_database(settings)
    try:
        report = sweep(database, settings, slack_for(settings, database), now, dry_run=args.dry_run,
                       capture=materialise_due)
    finally:
        database.engine.dispose()
    print(report.summary())
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.capture.mail.meetings import materialise_due
    from bot.nudges.scheduler import run_worker

    settings.require_slack(need_signing_secret=False)
    return run_worker(settings, parent=args.parent, capture=materialise_due)


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.bulk.csv_io import CsvError, pick_workspace
    from bot.bulk.demo import seed
    from bot.database import open_database
    from bot.shell.repl import TEAM
    from storage.db import settle_after_bulk_write
    from storage.workspaces import all_workspaces

    if not 1 <= args.clients <= 2_000_000 or not 0 <= args.per_client <= 1000:
        print("rapport seed-demo: --clients must be 1 to 2,000,000 and --per-client 0 to 1,000", file=sys.stderr)
        return 2
    if args.owner and not args.owner.startswith(("U", "W")):
        print("rapport seed-demo: --owner must be a Slack member id like U0123ABCD", file=sys.stderr)
        return 2
    database = open_database(settings)
    now = utcnow()
    try:
        with database.sessions.begin() as session, tqdm(total=args.clients, unit="client", desc="seeding",
                                                         disable=None, file=sys.stderr, leave=False) as bar:
            team = args.team or (None if len(all_workspaces(session)) == 1 else TEAM)
            workspace = pick_workspace(session, team, now)
            owners = [args.owner or "UYOU", "UANA", "UBEN", "UCHLOE"]
            report = seed(session, workspace, args.clients, now, owners=owners, per_client=args.per_client,
                          progress=bar.update)
        settle_after_bulk_write(database.engine)
    except CsvError as exc:
        print(f"rapport seed-demo: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
    print(f"seeded {report.clients:,} clients with {report.interactions:,} interactions and "
          f"{report.referrals:,} referrals into workspace {workspace.team_id}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.bulk.csv_io import CsvError, import_rows, pick_workspace, read_csv
    from bot.database import open_database
    from bot.slack.installs import token_team
    from storage.db import settle_after_bulk_write

    if args.owner and not args.owner.startswith(("U", "W")):
        print("rapport import: --owner must be a Slack member id like U0123ABCD", file=sys.stderr)
        return 2
    try:
        stream = args.file.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        print(f"rapport import: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    team = None if args.team else token_team(settings)  # asked before the transaction: it is a network call
    database = open_database(settings)
    try:
        someone = _users_info(settings, database, args.team)  # the OAuth token is read before the transaction too
        with stream, database.sessions.begin() as session:
            workspace = pick_workspace(session, args.team, utcnow(), team)
            total = sum(1 for _ in stream) - 1
            stream.seek(0)
            rows = tqdm(read_csv(stream), total=total, unit="row", desc="importing", disable=None,
                        file=sys.stderr, leave=False)
            report = import_rows(session, workspace, rows, default_owner=args.owner, tz=settings.tz, now=utcnow(),
                                 someone=someone)
        settle_after_bulk_write(database.engine)
    except (CsvError, UnicodeDecodeError) as exc:
        print(f"rapport import: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
    for line, reason in report.rejected:
        print(f"  line {line}: rejected: {reason}")
    print(f"{args.file}: {report.summary()}")
    return 1 if report.rejected else 0


def _users_info(settings: Settings, database: Database, team: str | None) -> Someone | None:
    """users.info for the owners an import names (each asked once), with the workspace's bot token; None when there
    is no token to ask with (a database used offline): the owners are then taken as given."""
    from functools import cache

    from slack_sdk import WebClient

    from bot.slack.installs import WorkspaceTokens
    from bot.slack.people import slack_user
    from storage.db import reading
    from storage.workspaces import all_workspaces, find_workspace

    token = settings.slack_bot_token
    if settings.oauth:
        with reading(database.sessions) as session:
            known = all_workspaces(session)
            found = find_workspace(session, team, None) if team else known[0] if len(known) == 1 else None
        token = WorkspaceTokens(settings, database.engine).bot_token(found.enterprise_id or None, found.team_id) \
            if found is not None else None
    if not token:
        return None
    client = WebClient(token=token, base_url=settings.slack_api_url)
    return cache(lambda user: slack_user(client, user, timeout_seconds=5))


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.audit import export
    from bot.bulk.csv_io import CsvError, pick_workspace
    from bot.database import open_database
    from bot.slack.installs import token_team

    team = None if args.team else token_team(settings)
    database = open_database(settings)
    try:
        with database.sessions() as session:
            workspace = pick_workspace(session, args.team, utcnow(), team)
            if args.file is None:
                export(session, workspace, sys.stdout)
                return 0
            with args.file.open("w", newline="", encoding="utf-8") as out:
                count = export(session, workspace, out)
        print(f"wrote {count} audit entries to {args.file}", file=sys.stderr)
        return 0
    except CsvError as exc:
        print(f"rapport audit: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bulk.csv_io import CsvError, export_rows, pick_workspace
    from bot.database import open_database
    from bot.slack.installs import token_team

    team = None if args.team else token_team(settings)
    database = open_database(settings)
    try:
        with database.sessions.begin() as session:
            workspace = pick_workspace(session, args.team, utcnow(), team)
            if args.file is None:
                export_rows(session, workspace, sys.stdout, settings.tz, utcnow())
                return 0
            with args.file.open("w", newline="", encoding="utf-8") as out:
                count = export_rows(session, workspace, out, settings.tz, utcnow())
        print(f"wrote {count} clients to {args.file}", file=sys.stderr)
        return 0
    except CsvError as exc:
        print(f"rapport export: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()


def _reviews(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.bulk.csv_io import CsvError, pick_workspace
    from bot.commands.matching import ClientLookupError, find_client
    from bot.database import open_database
    from bot.reviews.export import total_for, write_reviews
    from bot.reviews.figures import Rules
    from bot.reviews.view import MonthError, pick_month
    from bot.slack.installs import token_team
    from bot.workspaces import tz_of

    team = None if args.team else token_team(settings)
    database = open_database(settings)
    now = utcnow()
    try:
        with database.sessions() as session:
            workspace = pick_workspace(session, args.team, now, team)
            rules = Rules.of(settings, tz_of(workspace, settings.tz))
            key = pick_month(args.month, now, rules)
            only = None
            if args.client:
                match = find_client(session, workspace.id, args.client)
                if match.rest:
                    raise CsvError(f"no client is called {args.client!r}; did you mean {match.client.name}?")
                only = match.client
            total = 1 if only else total_for(session, workspace, key, rules)
            with args.file.open("w", newline="", encoding="utf-8") as out, \
                    tqdm(total=total, unit="client", desc=f"reviews {key}", disable=None, file=sys.stderr) as bar:
                count = write_reviews(session, workspace, key, now, rules, out, only, bar.update)
            session.rollback()  # reading only (a new workspace is not kept)
        print(f"wrote {count} reviews of {key} to {args.file}", file=sys.stderr)
        return 0
    except (CsvError, MonthError, ClientLookupError) as exc:
        print(f"rapport reviews: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
