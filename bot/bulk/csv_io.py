"""`rapport import` and `rapport export`: clients in bulk, idempotent by name, every rejection explained."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import audit
from bot.addresses import is_free_mail, normalize_domain
from bot.nudges import rules
from bot.people.contacts import ContactRuleError, save_contact
from bot.people.roles import ContactWordsError, format_contacts, parse_contacts_cell
from bot.relationship.facts import STATUSES, next_checkin
from bot.relationship.health_data import health_of
from bot.relationship.schedule import refresh, start_schedule
from bot.relationship.value import AmountError, parse_value
from bot.slack.people import SlackUser, owner_refusal
from bot.slack.text import channel_id, to_plain, user_id
from bot.spreadsheet import FORMULA_STARTS, safe_cell
from bot.when import WhenError, parse_period
from storage.clients import all_clients, clients_by_keys
from storage.contacts import contacts_by_role, contacts_of_clients
from storage.counts import fold_client_counts
from storage.handoffs import move_open_goals
from storage.interactions import has_interaction
from storage.mail import add_client_domain, client_domain, domains_of, domains_of_clients, our_domains
from storage.models import NAME_MAX, Client, Contact, Interaction, Workspace
from storage.names import name_key, normalize_name
from storage.referrals import open_referral_counts
from storage.workspaces import all_workspaces, get_or_create_workspace

IMPORT_COLUMNS = ("name", "owner", "checkin_every", "last_contact", "channel", "status", "value", "contacts",
                  "domains")
EXPORT_COLUMNS = (*IMPORT_COLUMNS[:1], "owner", "status", "channel", "checkin_every", "next_checkin",
                  "last_contact", "last_contact_side", "last_heard_from_them", "unanswered", "open_referrals",
                  "next_nudge", "health", "value", "contacts", "domains")
IMPORT_NOTE = "Imported from CSV (last contact)"
IMPORTER = "rapport-import"
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


class CsvError(Exception):
    pass


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.rejected)} rejected")


def pick_workspace(session: Session, team_id: str | None, now: datetime,
                   token_team: tuple[str, str | None] | str | None = None) -> Workspace:
    """The workspace named by --team (created if new, so a team can import before its first command); else, in
    single-workspace mode, the one the bot token belongs to (`token_team`: (team, enterprise) from auth.test, or
    why Slack could not say); else the only one there is."""
    workspaces = all_workspaces(session)
    if team_id:
        if not re.fullmatch(r"[TE][A-Z0-9]{2,}", team_id):
            raise CsvError(f"--team {team_id!r} is not a Slack team id like T0123ABCD")
        return get_or_create_workspace(session, team_id, None, now)
    if isinstance(token_team, tuple):
        return get_or_create_workspace(session, token_team[0], token_team[1], now)
    if len(workspaces) == 1:
        return workspaces[0]
    why = f" (Slack could not say which workspace SLACK_BOT_TOKEN belongs to: {token_team})" if token_team else ""
    if not workspaces:
        raise CsvError(f"no workspace in this database yet{why}: pass --team T0123ABCD (your Slack team id)")
    raise CsvError(f"several workspaces here{why}; pick one with --team "
                   f"({', '.join(w.team_id for w in workspaces)})")


def _owner(raw: str) -> str | None:
    raw = raw.strip()
    found = user_id(raw) or (raw if _SLACK_ID.fullmatch(raw) else None)
    if raw and found is None:
        raise ValueError(f"owner {_shown(raw)} is not a Slack member id like U0123ABCD")
    return found


def _channel(raw: str) -> str | None:
    raw = raw.strip()
    found = channel_id(raw) or (raw if _CHANNEL_ID.fullmatch(raw) else None)
    if raw and found is None:
        raise ValueError(f"channel {_shown(raw)} is not a channel id like C0123ABCD")
    return found


def _contacts(raw: str) -> list[tuple[str, str, str | None]]:
    """The `contacts` cell: `Jane Doe <jane@acme.com> (primary); Sam Lee (sponsor)`, names checked like the
    command's."""
    try:
        pairs = parse_contacts_cell(to_plain(raw))
    except ContactWordsError as exc:
        raise ValueError(f"contacts: {exc}") from None
    cleaned = []
    for person, role, email in pairs:
        name = normalize_name(person)
        if name[:1] == "'" and name[1:2] in FORMULA_STARTS:
            name = name[1:]
        if not name or len(name) > NAME_MAX:
            raise ValueError(f"contacts: a name must have 1 to {NAME_MAX} visible characters")
        cleaned.append((name, role, email))
    return cleaned


def _domains(raw: str) -> list[str]:
    """The `domains` cell: `acme.com; acme.co.uk` (commas and spaces do too); never a free-mail domain."""
    found = []
    for word in re.split(r"[;,\s]+", to_plain(raw).strip()):
        if not word:
            continue
        domain = normalize_domain(word)
        if domain is None:
            raise ValueError(f"domains: {_shown(word)} is not a domain like acme.com")
        if is_free_mail(domain):
            raise ValueError(f"domains: {domain} is a free-mail domain, so no client is matched by it; list the "
                             "person in contacts with their address instead (Jane Doe <jane@" + domain + ">)")
        found.append(domain)
    return found


def _last_contact(raw: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:  # the whole cell: a date, or a date and time (its day counts); nothing may trail it
        day = (date.fromisoformat(raw) if len(raw) <= 10 else datetime.fromisoformat(raw).date())
    except ValueError:
        raise ValueError(f"last_contact {_shown(raw)} is not a date like 2026-11-02") from None
    moment = datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC)
    if day > now.astimezone(tz).date():
        raise ValueError(f"last_contact {raw} is in the future")
    return min(moment, now)


Someone = Callable[[str], SlackUser | None]  # users.info for a user id; None when Slack could not be asked


def _check_owner(owner: str, workspace: Workspace, someone: Someone | None) -> None:
    """A client's owner is a person of the workspace, as Slack says (PRODUCT.md §3); without a Slack token to ask
    with (`someone` None: an offline database) the id is taken as given."""
    if someone is None:
        return
    refusal = owner_refusal(someone(owner), owner, workspace.team_id, workspace.enterprise_id or None, who=owner)
    if refusal is not None:
        raise ValueError(f"owner refused: {refusal}")


def _apply_row(session: Session, workspace: Workspace, row: dict[str, str], default_owner: str | None,
               tz: ZoneInfo, now: datetime, report: ImportReport, someone: Someone | None = None) -> None:
    plain = to_plain(row.get("name") or "")
    name = normalize_name(plain)
    if name[:1] == "'" and name[1:2] in FORMULA_STARTS:
        name = name[1:]  # undo export's spreadsheet guard, so an export re-imports as the same names
    if not name:
        raise ValueError("name has no visible characters" if plain.strip() else "name is empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"name is {len(name)} characters; the limit is {NAME_MAX}")
    owner = _owner(row.get("owner") or "") or default_owner
    every_raw = (row.get("checkin_every") or "").strip()
    try:
        every = parse_period(every_raw) if every_raw else None
    except WhenError as exc:
        raise ValueError(f"checkin_every: {exc}") from None
    channel = _channel(row.get("channel") or "")
    status = (row.get("status") or "").strip().lower()
    if status and status not in STATUSES:
        raise ValueError(f"status {_shown(status)} is not one of {', '.join(STATUSES)}")
    last = _last_contact(row.get("last_contact") or "", tz, now)
    value_raw = (row.get("value") or "").strip()
    try:
        value = parse_value(value_raw) if value_raw else None
    except AmountError as exc:
        raise ValueError(f"value: {exc}") from None
    people = _contacts(row.get("contacts") or "")
    domains = _domains(row.get("domains") or "")

    existing = clients_by_keys(session, workspace.id, [name_key(name)])
    if owner and (not existing or existing[0].owner_id != owner):
        _check_owner(owner, workspace, someone)
    if existing:
        client = existing[0]
        before = (client.owner_id, client.checkin_count, client.checkin_unit, client.channel_id, client.status,
                  client.last_contact_at, client.value)
    else:
        if owner is None:
            raise ValueError("owner is empty: give a Slack member id, or run with --owner U0123ABCD")
        client = Client(workspace_id=workspace.id, name=name, name_key=name_key(name), owner_id=owner,
                        status=status or "active", created_at=now, created_by=IMPORTER, opted_out=False,
                        no_winback=False, unanswered_count=0)
        start_schedule(client)
        session.add(client)
        session.flush()
        audit.record(session, workspace.id, IMPORTER, "imported", now, client_id=client.id)
        before = None
    if owner and owner != client.owner_id:
        if before is not None:
            audit.record(session, workspace.id, IMPORTER, "owner", now, client_id=client.id, detail=owner)
            move_open_goals(session, client.id, owner)
        client.owner_id = owner
    if every and (client.checkin_count, client.checkin_unit) != every:
        client.checkin_count, client.checkin_unit = every
        client.checkin_set_at = now
        client.next_checkin_at = next_checkin(client)
    if channel:
        client.channel_id = channel
    if status and status != client.status:
        client.status = status
        client.ended_at = now if status == "former" else None
        client.winback_nudges = 0
        client.next_winback_at = (rules.winback_start(now, client.no_winback, client.opted_out)
                                  if status == "former" else None)
    if last is not None and not has_interaction(session, client.id, "meeting", last, IMPORT_NOTE):
        session.add(Interaction(workspace_id=workspace.id, client_id=client.id, kind="meeting", direction="both",
                                occurred_at=last, note=IMPORT_NOTE, logged_by=IMPORTER, created_at=now))
        refresh(session, client, now)
    if value_raw:  # an empty cell leaves the value as it is; 'none' clears it
        client.value = value
    had = [(c.name, c.role, c.email) for c in contacts_by_role(session, client.id)]
    for person, role, email in people:  # listed contacts are added or given their role (and address); others stay
        try:
            save_contact(session, client, person, role, None, IMPORTER, now, email=email)
        except ContactRuleError as exc:
            raise ValueError(f"contacts: {exc}") from None
    had_domains = domains_of(session, client.id)
    ours = our_domains(session, workspace.id)
    for domain in domains:  # listed domains are added; others stay
        taken = client_domain(session, workspace.id, domain)
        if domain in ours:
            raise ValueError(f"domains: {domain} is one of your own domains (/client mail ours)")
        if taken is not None and taken.client_id != client.id:
            raise ValueError(f"domains: {domain} is another client's domain already")
        if taken is None:
            add_client_domain(session, workspace.id, client.id, domain, IMPORTER, now)
    after = (client.owner_id, client.checkin_count, client.checkin_unit, client.channel_id, client.status,
             client.last_contact_at, client.value)
    people_changed = had != [(c.name, c.role, c.email) for c in contacts_by_role(session, client.id)] or \
        had_domains != domains_of(session, client.id)
    if before is None:
        report.added.append(name)
    elif before != after or people_changed:
        report.updated.append(name)
    else:
        report.unchanged.append(name)


def import_rows(session: Session, workspace: Workspace, rows: Iterable[dict[str, str]], *,
                default_owner: str | None, tz: ZoneInfo, now: datetime, someone: Someone | None = None) -> ImportReport:
    """Each row stands alone: a bad row is rejected with its reason and leaves no trace; good rows land.
    `someone`: users.info, to check each row's owner with Slack (cache it: each owner is asked about once)."""
    report = ImportReport()
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        if None in row:
            report.rejected.append((number, "more values than columns"))
            continue
        key = name_key(to_plain(row.get("name") or ""))
        if key and key in seen:
            report.rejected.append((number, f"{_shown(row.get('name') or '')} appears earlier in the file"))
            continue
        savepoint = session.begin_nested()
        try:
            _apply_row(session, workspace, row, default_owner, tz, now, report, someone)
        except ValueError as exc:
            savepoint.rollback()
            report.rejected.append((number, str(exc)))
            continue
        savepoint.commit()
        seen.add(key)
    fold_client_counts(session, workspace.id)  # a row per client added or changed: summed now, not by the next sweep
    return report


def read_csv(stream: TextIO) -> Iterator[dict[str, str]]:
    """The file's rows as dicts by column; CsvError (naming the line or column) for a file that cannot be read
    as a whole: a bad header, or a line the csv module cannot parse. Such an error stops the import before
    it commits, so nothing of the file is written."""
    reader = csv.DictReader(stream)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise _unreadable(reader, exc) from None
    header = [h.strip().lower() for h in (fieldnames or [])]
    if "name" not in header:
        raise CsvError(f"the first line must name the columns, including 'name' (columns: "
                           f"{', '.join(IMPORT_COLUMNS)})")
    unknown = [h for h in header if h not in IMPORT_COLUMNS and h not in EXPORT_COLUMNS]
    if unknown:
        raise CsvError(f"unknown column {_shown(unknown[0])}; expected {', '.join(IMPORT_COLUMNS)}")
    for index, column in enumerate(header):
        if column in header[:index]:
            raise CsvError(f"column {column!r} appears twice in the first line (columns {header.index(column) + 1} "
                           f"and {index + 1}): which one holds the {column}?")
    reader.fieldnames = header
    return _rows(reader)


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str, str]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _unreadable(reader, exc) from None
        yield row


def _unreadable(reader: csv.DictReader[str], exc: csv.Error) -> CsvError:
    """csv's own errors name neither the line nor what to do; a line it cannot parse ends the whole file,
    because what follows it (inside an unclosed quote, say) cannot be trusted to be the rows it looks like."""
    line = reader.line_num + 1  # csv counts a line once it is parsed, and this one never was
    if "field larger than field limit" in str(exc):
        why = f"a cell is longer than {csv.field_size_limit():,} characters (often a quote that is never closed)"
    else:
        why = f"it cannot be read as CSV ({exc})"
    return CsvError(f"line {line}: {why}; nothing was imported")


def _shown(cell: str) -> str:
    """A cell quoted in a message, cut short: a cell may be as long as the csv module allows."""
    return repr(cell if len(cell) <= 40 else cell[:40] + "…")


def _day(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).date().isoformat() if moment else ""


def _next_nudge(client: Client) -> datetime | None:
    due = [t for t in (client.next_quiet_at, client.next_unanswered_at, client.next_checkin_at,
                       client.next_at_risk_at, client.next_advocate_at) if t is not None]
    return min(due, default=None)


def export_rows(session: Session, workspace: Workspace, out: TextIO, tz: ZoneInfo, now: datetime) -> int:
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    referrals = open_referral_counts(session, workspace.id)
    clients = all_clients(session, workspace.id)
    count = 0
    for start in range(0, len(clients), 1000):
        page = clients[start:start + 1000]
        health = health_of(session, page, now)
        people = contacts_of_clients(session, [c.id for c in page])
        domains = domains_of_clients(session, [c.id for c in page])
        for client in page:
            _export_row(writer, client, referrals, health[client.id].label, tz, people.get(client.id, []),
                        domains.get(client.id, []))
            count += 1
    return count


def _export_row(writer: Any, client: Client, referrals: dict[int, int], health: str, tz: ZoneInfo,
                people: list[Contact], domains: list[str]) -> None:
    every = f"{client.checkin_count}{client.checkin_unit}" if client.checkin_count else ""
    writer.writerow([
        safe_cell(client.name), client.owner_id, client.status, client.channel_id or "", every,
        _day(next_checkin(client), tz), _day(client.last_contact_at, tz), client.last_contact_direction or "",
        _day(client.last_their_contact_at, tz), client.unanswered_count, referrals.get(client.id, 0),
        _day(_next_nudge(client), tz), health, client.value if client.value is not None else "",
        safe_cell(format_contacts([(c.name, c.role, c.email) for c in people])), "; ".join(domains),
    ])


