"""Query functions. Each takes the caller's session; the caller owns the transaction."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    String,
    Subquery,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, joinedload
from sqlalchemy.sql.selectable import ScalarSelect

from storage.counts import kept_total
from storage.db import ERASED
from storage.mail import WORKSPACE_MODELS as MAIL_MODELS
from storage.mail import forget_client_mail
from storage.models import (
    AuditEvent,
    Card,
    Client,
    ClientCount,
    Closeout,
    CloseoutTick,
    Commitment,
    Contact,
    FocusDay,
    Goal,
    GoalCheck,
    Handoff,
    Interaction,
    LinkedChannel,
    Marker,
    Nudge,
    Referral,
    ReviewFreeze,
    ReviewMonth,
    Workspace,
)
from storage.names import name_key as name_key  # where every caller has always found it
from storage.types import rows_changed

# Workspaces whose app is installed: an uninstalled one gets no nudges while it waits to be erased.
INSTALLED = select(Workspace.id).where(Workspace.uninstalled_at.is_(None))


# Statements every answer runs are built once, their values passed as parameters: building a statement costs
# SQLAlchemy about a third of what running it does (bench/answer_profile.py, issue 24).
# A workspace is its team: Slack keeps a team's id when it moves the team into an Enterprise Grid org, and from then
# on its requests carry the org's id too (PRODUCT.md §8). The row whose enterprise id matches comes first.
_WORKSPACE = (select(Workspace).where(Workspace.team_id == bindparam("team"))
              .order_by((Workspace.enterprise_id == bindparam("enterprise")).desc(), Workspace.id).limit(1))
_CLIENTS_BY_KEYS = select(Client).where(Client.workspace_id == bindparam("workspace_id"),
                                        Client.name_key.in_(bindparam("keys", expanding=True)))
_INTERACTIONS_SINCE = (select(Interaction).where(Interaction.client_id == bindparam("client_id"),
                                                 Interaction.occurred_at >= bindparam("since"))
                       .order_by(Interaction.occurred_at, Interaction.id))
_CONTACTS_OF = select(Contact).where(Contact.client_id == bindparam("client_id")).order_by(Contact.id)
# Posted or on its way, nobody having acted on it yet: what answering elsewhere (a promise kept, a goal's question
# answered) marks handled. 'unknown' too: its post may be in Slack, and delivery looks for it before anything else.
UNSETTLED_OR_SENT = ("pending", "sending", "unknown", "sent")
_RECENT_NUDGES = select(Nudge).where(
    Nudge.client_id == bindparam("client_id"),
    Nudge.handled_at.is_(None),
    or_(Nudge.status.in_(("pending", "sending", "unknown")),
        (Nudge.status == "sent") & (Nudge.sent_at >= bindparam("sent_since"))),
).order_by(Nudge.due_at)


def find_workspace(session: Session, team_id: str, enterprise_id: str | None) -> Workspace | None:
    """The workspace of a team, whatever Enterprise Grid org a request says it is in now (see _WORKSPACE)."""
    return session.scalars(_WORKSPACE, {"team": team_id, "enterprise": enterprise_id or ""}).first()


def get_or_create_workspace(session: Session, team_id: str, enterprise_id: str | None, now: datetime) -> Workspace:
    enterprise = enterprise_id or ""
    workspace = find_workspace(session, team_id, enterprise)
    if workspace is not None:
        if enterprise and workspace.enterprise_id != enterprise:
            joined_grid(workspace, enterprise)
        return workspace
    try:
        # a savepoint: two first-ever requests from one team may race to create it
        with session.begin_nested():
            workspace = Workspace(team_id=team_id, enterprise_id=enterprise, created_at=now)
            session.add(workspace)
        return workspace
    except IntegrityError:
        return session.scalars(_WORKSPACE, {"team": team_id, "enterprise": enterprise}).one()


def joined_grid(workspace: Workspace, enterprise_id: str) -> None:
    """The workspace is now part of an Enterprise Grid org (its team id kept): it keeps everything, takes the org's
    id, and a migration that was under way is over (PRODUCT.md §8)."""
    workspace.enterprise_id = enterprise_id
    workspace.grid_migration_at = None


def clients_by_keys(session: Session, workspace_id: int, keys: Sequence[str]) -> list[Client]:
    if not keys:
        return []
    return list(session.scalars(_CLIENTS_BY_KEYS, {"workspace_id": workspace_id, "keys": list(keys)}))


def clients_with_key_prefix(session: Session, workspace_id: int, prefix: str, limit: int) -> list[Client]:
    # A range on the unique (workspace_id, name_key) index, not LIKE, so '%' and '_' in names are literal.
    upper = prefix + "\U0010ffff"
    stmt = (
        select(Client)
        .where(Client.workspace_id == workspace_id, Client.name_key >= prefix, Client.name_key < upper)
        .order_by(Client.name_key)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def client_keys_for_suggestions(session: Session, workspace_id: int, first_char: str, limit: int) -> list[str]:
    """The name keys a misspelling could be meant for: all of a small workspace's, else those sharing a first
    letter (the first `limit` of them). Only keys, read from the (workspace, name key) index alone and joined into
    one string by the database (keys never hold a line break): thousands of rows cost more to hand over one by one
    than to find. The workspace's size is its kept total, not a count of its clients."""
    total = session.scalar(select(kept_total(statuses=False, owner=False)), {"workspace_id": workspace_id})
    stmt = select(Client.name_key).where(Client.workspace_id == workspace_id)
    if (total or 0) > limit and first_char:
        stmt = stmt.where(Client.name_key >= first_char, Client.name_key < first_char + "\U0010ffff")
    keys = stmt.order_by(Client.name_key).limit(limit).subquery()
    joined = session.scalar(select(func.aggregate_strings(keys.c.name_key, "\n")))
    return joined.split("\n") if joined else []


def get_client(session: Session, workspace_id: int, client_id: int) -> Client | None:
    stmt = select(Client).where(Client.workspace_id == workspace_id, Client.id == client_id)
    return session.scalars(stmt).one_or_none()


def primary_contact(session: Session, client_id: int) -> Contact | None:
    stmt = select(Contact).where(Contact.client_id == client_id, Contact.is_primary.is_(True))
    return session.scalars(stmt).first()


def recent_interactions(session: Session, client_id: int, limit: int) -> list[Interaction]:
    stmt = (
        select(Interaction)
        .where(Interaction.client_id == client_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def interactions_since(session: Session, client_id: int, since: datetime) -> list[Interaction]:
    return list(session.scalars(_INTERACTIONS_SINCE, {"client_id": client_id, "since": since}))


def open_referrals_from(session: Session, workspace_id: int, referrer_id: int) -> list[Referral]:
    # with the clients they referred, whose names every caller shows: one statement, not one more per referral
    stmt = (
        select(Referral)
        .options(joinedload(Referral.referred))
        .where(
            Referral.workspace_id == workspace_id,
            Referral.referrer_id == referrer_id,
            Referral.thanked_at.is_(None),
        )
        .order_by(Referral.created_at)
    )
    return list(session.scalars(stmt))


def referrals_by(session: Session, workspace_id: int, referrer_id: int, since: datetime
                 ) -> tuple[list[datetime], list[Referral]]:
    """For a client's card, in one statement: when they made referrals since `since`, and those still to thank
    (oldest first, with the clients they referred)."""
    stmt = (select(Referral).options(joinedload(Referral.referred))
            .where(Referral.workspace_id == workspace_id, Referral.referrer_id == referrer_id,
                   or_(Referral.created_at >= since, Referral.thanked_at.is_(None)))
            .order_by(Referral.created_at, Referral.id))
    found = list(session.scalars(stmt))
    return [r.created_at for r in found if r.created_at >= since], [r for r in found if r.thanked_at is None]


def get_referral(session: Session, workspace_id: int, referral_id: int) -> Referral | None:
    stmt = select(Referral).where(Referral.workspace_id == workspace_id, Referral.id == referral_id)
    return session.scalars(stmt).one_or_none()


def count_history(session: Session, client_id: int) -> tuple[int, int]:
    interactions = session.scalar(select(func.count()).where(Interaction.client_id == client_id)) or 0
    referrals = (
        session.scalar(
            select(func.count()).where(or_(Referral.referrer_id == client_id, Referral.referred_id == client_id))
        )
        or 0
    )
    return interactions, referrals


def list_clients(session: Session, workspace_id: int, *, statuses: Sequence[str] | None = None,
                 owner_id: str | None = None, limit: int) -> tuple[list[Client], int]:
    """Clients of `statuses` (any, if None) and, if given, this owner, longest-silent first, and how many match in
    all (kept by the database: storage/counts.py)."""
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit, "statuses": list(statuses or ()),
                              "owner_id": owner_id}
    return _page(session, _list_statement(statuses is not None, owner_id is not None), params)


@cache
def _list_statement(statuses: bool, owner: bool) -> Any:
    """list_clients's statement for one combination of filters, built once; the values are parameters."""
    conditions = [Client.workspace_id == bindparam("workspace_id")]
    if statuses:
        conditions.append(Client.status.in_(bindparam("statuses", expanding=True)))
    if owner:
        conditions.append(Client.owner_id == bindparam("owner_id"))
    return longest_silent_first(conditions, kept_total(statuses=statuses, owner=owner))


def longest_silent_first(conditions: Sequence[ColumnElement[bool]], total: ScalarSelect[int]) -> Any:
    """The first :limit clients matching `conditions` (which name one workspace), never heard from first (by
    name), then by when we last heard from them, and `total` (how many match in all). Two walks of
    ix_clients_workspace_their_contact that stop at the limit, not a sort of every match (one walk cannot do it
    on both databases: PostgreSQL's index keeps NULLs last, and `NULLS FIRST` would sort), and the total, all in
    one statement: each round trip costs an answer more than these index walks do."""
    limit: BindParameter[int] = bindparam("limit")
    never = (select(Client.id, literal(0, Integer).label("part"))
             .where(*conditions, Client.last_their_contact_at.is_(None)).order_by(Client.name_key).limit(limit))
    heard = (select(Client.id, literal(1, Integer).label("part"))
             .where(*conditions, Client.last_their_contact_at.is_not(None))
             .order_by(Client.last_their_contact_at, Client.name_key).limit(limit))
    page = union_all(select(never.subquery()), select(heard.subquery())).subquery()
    return (select(Client, total.label("total")).join(page, page.c.id == Client.id)
            .order_by(page.c.part, Client.last_their_contact_at, Client.name_key).limit(limit))


def _page(session: Session, stmt: Any, params: dict[str, Any]) -> tuple[list[Client], int]:
    rows = session.execute(stmt, params).all()
    return [row[0] for row in rows], (rows[0].total if rows else 0)  # an empty page: nothing matches


def our_late_signs(of: Callable[[Any], ColumnElement[bool]], since: Any) -> Subquery:
    """Our warning signs since `since`, one row each (client_id, kind, at): a promise or issue still open that went
    late then (PRODUCT.md §4.10), an open goal at risk since then (kind 'goal', §4.11). `of(model)` says whose:
    a client, a page of clients, a workspace. Every reader of them (a touch, the card, a list, at-risk) uses it."""
    commitments = (select(Commitment.client_id.label("client_id"), Commitment.kind.label("kind"),
                          Commitment.late_since.label("at"))
                   .where(of(Commitment), Commitment.done_at.is_(None), Commitment.late_since >= since))
    goals = (select(Goal.client_id, literal("goal", String), Goal.at_risk_since)
             .where(of(Goal), Goal.status == "open", Goal.at_risk_since >= since))
    return union_all(commitments, goals).subquery()


def _warning_signs() -> Subquery:
    """One row per warning sign since :since in workspace :workspace_id: their own (interactions of :kinds, read
    from the index alone) and ours (a commitment that went late then and is still open, PRODUCT.md §4.10; an open
    goal at risk since then, §4.11). Its values are parameters: the statements using it are built once."""
    workspace_id: BindParameter[int] = bindparam("workspace_id")
    since: BindParameter[datetime] = bindparam("since")
    theirs = (select(Interaction.client_id.label("client_id"))
              .where(Interaction.workspace_id == workspace_id, Interaction.kind.in_(bindparam("kinds", expanding=True)),
                     Interaction.occurred_at >= since))
    ours = our_late_signs(lambda model: model.workspace_id == workspace_id, since)
    return union_all(theirs, select(ours.c.client_id)).subquery()


def _signs_params(workspace_id: int, kinds: Sequence[str], since: datetime, at_least: int) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "kinds": list(kinds), "since": since, "at_least": at_least}


@cache
def _clients_with_warning_signs_statement() -> Any:
    signs = _warning_signs()
    return (select(signs.c.client_id, func.count()).group_by(signs.c.client_id)
            .having(func.count() >= bindparam("at_least")))


def clients_with_warning_signs(
    session: Session, workspace_id: int, kinds: Sequence[str], since: datetime, at_least: int
) -> dict[int, int]:
    """Clients with at least `at_least` warning signs since `since` (theirs and ours), and how many each."""
    params = _signs_params(workspace_id, kinds, since, at_least)
    return {client_id: count for client_id, count in session.execute(_clients_with_warning_signs_statement(),
                                                                       params)}


@cache
def _at_risk_statement() -> Any:
    signs = _warning_signs()
    risky = (select(signs.c.client_id, func.count().label("signs")).group_by(signs.c.client_id)
             .having(func.count() >= bindparam("at_least")).subquery())
    order = (Client.last_their_contact_at.asc().nulls_first(), Client.name_key)
    # the page is chosen from the sort keys alone, then its clients read whole: sorting thousands of whole rows
    # costs twice as much
    page = (select(Client.id, risky.c.signs, func.count().over().label("total"))
            .join(risky, risky.c.client_id == Client.id)
            .where(Client.workspace_id == bindparam("workspace_id"),
                   Client.status.in_(bindparam("statuses", expanding=True)))
            .order_by(*order).limit(bindparam("limit")).subquery())
    return select(Client, page.c.signs, page.c.total).join(page, page.c.id == Client.id).order_by(*order)


def at_risk_clients(session: Session, workspace_id: int, statuses: Sequence[str], kinds: Sequence[str],
                    since: datetime, at_least: int, limit: int) -> tuple[list[Client], int, dict[int, int]]:
    """Clients with at least `at_least` warning signs since `since` (theirs and ours) in the list's order (longest
    silent first), how many there are, and each one's signs: one statement, the set never leaving the database."""
    params = {**_signs_params(workspace_id, kinds, since, at_least), "statuses": list(statuses), "limit": limit}
    rows = session.execute(_at_risk_statement(), params).all()
    return [r[0] for r in rows], (rows[0].total if rows else 0), {r[0].id: r.signs for r in rows}


def all_clients(session: Session, workspace_id: int) -> list[Client]:
    return list(session.scalars(select(Client).where(Client.workspace_id == workspace_id).order_by(Client.name_key)))


def delete_client(session: Session, client: Client) -> None:
    # Explicit deletes keep erasure complete even where the database does not enforce cascades.
    # The client's cards are locked before its nudges, in the order a sweeper's claim takes them, so a forget
    # during a claim waits for it instead of deadlocking with it.
    session.execute(select(Card.id).where(Card.client_id == client.id).with_for_update())
    session.execute(delete(Nudge).where(Nudge.client_id == client.id))
    session.execute(delete(Card).where(Card.client_id == client.id))
    session.execute(delete(LinkedChannel).where(LinkedChannel.client_id == client.id))
    session.execute(delete(Commitment).where(Commitment.client_id == client.id))
    goals = select(Goal.id).where(Goal.client_id == client.id)
    session.execute(delete(GoalCheck).where(GoalCheck.goal_id.in_(goals)))
    session.execute(delete(Goal).where(Goal.client_id == client.id))
    session.execute(delete(ReviewMonth).where(ReviewMonth.client_id == client.id))
    closeouts = select(Closeout.id).where(Closeout.client_id == client.id)
    session.execute(delete(CloseoutTick).where(CloseoutTick.closeout_id.in_(closeouts)))
    session.execute(delete(Closeout).where(Closeout.client_id == client.id))
    session.execute(delete(Handoff).where(Handoff.client_id == client.id))
    forget_client_mail(session, client.id)  # its meetings and domains; its captured touches go with the rest
    session.execute(delete(Interaction).where(Interaction.client_id == client.id))
    referrals = select(Referral.id).where(or_(Referral.referrer_id == client.id, Referral.referred_id == client.id))
    session.execute(delete(Nudge).where(Nudge.referral_id.in_(referrals)))
    session.execute(delete(Referral).where(Referral.id.in_(referrals)))
    session.execute(delete(Contact).where(Contact.client_id == client.id))
    session.execute(delete(AuditEvent).where(AuditEvent.workspace_id == client.workspace_id,
                                             AuditEvent.client_id == client.id))
    forget_in_messages(session, client.workspace_id, client.id)
    session.delete(client)
    session.info[ERASED] = True  # storage.db: the file's free pages and log are cleared once this commits


def forget_in_messages(session: Session, workspace_id: int, client_id: int) -> int:
    """Erasure reaches the messages about many clients too (PRODUCT.md §3): the weekly digests and the owners'
    monthly-review messages, planned or sent, keep each client they name as an entry with its id (its name, and
    its promise's or issue's words): the client's entries go, and each list's count with them. Returns how many
    messages changed."""
    changed = 0
    stmt = select(Nudge).where(Nudge.workspace_id == workspace_id, Nudge.client_id.is_(None),
                               Nudge.facts.contains(str(client_id)))
    for nudge in session.scalars(stmt):
        facts = json.loads(nudge.facts)
        if _without(facts, client_id):
            nudge.facts = json.dumps(facts)
            changed += 1
    return changed


def _without(node: Any, client_id: int) -> bool:
    """Drop every entry naming the client (a dict whose "id" is its id) from the lists in `node`, lowering the
    "count" beside a list by what left it. Whether anything changed."""
    changed = False
    if isinstance(node, dict):
        for value in node.values():
            if isinstance(value, list):
                kept = [v for v in value if not (isinstance(v, dict) and v.get("id") == client_id)]
                if len(kept) < len(value):
                    if isinstance(node.get("count"), int):
                        node["count"] = max(0, node["count"] - (len(value) - len(kept)))
                    value[:] = kept
                    changed = True
            changed = _without(value, client_id) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _without(value, client_id) or changed
    return changed


def mark_referrals_thanked(session: Session, referral_ids: Sequence[int], user_id: str, now: datetime) -> None:
    session.execute(
        update(Referral)
        .where(Referral.id.in_(list(referral_ids)), Referral.thanked_at.is_(None))
        .values(thanked_at=now, thanked_by=user_id, next_nudge_at=None)
    )


@dataclass(frozen=True)
class ContactFacts:
    last_contact_at: datetime | None
    last_contact_direction: str | None
    last_their_contact_at: datetime | None
    last_checkin_at: datetime | None
    unanswered: list[datetime]  # our touches since they last replied, oldest first
    their_contacts_since: list[datetime]
    warning_signs_since: list[datetime]
    last_primary_contact_at: datetime | None
    late_since: list[datetime]  # our warning signs since `warnings_since`: open promises late, open goals at risk
    first_at: datetime | None = None  # the earliest entry recorded, whenever it was recorded (a backdated touch)


@cache
def _contact_facts_statement(with_primary: bool) -> Any:
    """contact_facts's statement, built once with its values as parameters: building a union of eight or nine
    parts anew for every touch cost more Python than running it."""
    mine = Interaction.client_id == bindparam("client_id")
    at, direction, kind = Interaction.occurred_at, Interaction.direction, Interaction.kind
    theirs = direction.in_(("in", "both"))
    last_their = select(func.max(at)).where(mine, theirs).scalar_subquery()

    def part(tag: str, stmt: Any) -> Any:  # one of the parts below, each with its own column types
        rows = stmt.subquery()
        return select(literal(tag).label("tag"), rows.c.at, rows.c.direction)

    nothing = null().label("direction")
    late = our_late_signs(lambda model: model.client_id == bindparam("client_id"), bindparam("warnings_since"))
    parts = [
        part("last", select(at.label("at"), direction.label("direction")).where(mine, direction.is_not(None))
             .order_by(at.desc(), Interaction.id.desc()).limit(1)),
        part("first", select(func.min(at).label("at"), nothing).where(mine)),
        part("their", select(func.max(at).label("at"), nothing).where(mine, theirs)),
        part("checkin", select(func.max(at).label("at"), nothing).where(mine, kind == "checkin")),
        # our touches since they last replied (all of them if they never have)
        part("out", select(at.label("at"), nothing).where(mine, direction == "out",
                                                          or_(last_their.is_(None), at > last_their))),
        part("contact", select(at.label("at"), nothing).where(mine, theirs, at >= bindparam("contacts_since"))),
        part("warning", select(at.label("at"), nothing).where(
            mine, kind.in_(bindparam("warning_kinds", expanding=True)), at >= bindparam("warnings_since"))),
        # ours, in the same round trip (storage.commitments.late_signs_of reads the same rows)
        part("late", select(late.c.at, nothing)),
    ]
    if with_primary:
        parts.append(part("primary", select(func.max(at).label("at"), nothing)
                          .where(mine, theirs, Interaction.contact_id == bindparam("primary_contact_id"))))
    return union_all(*parts)


def contact_facts(
    session: Session, client_id: int, *, contacts_since: datetime, warnings_since: datetime,
    warning_kinds: Sequence[str], primary_contact_id: int | None,
) -> ContactFacts:
    """What one client's history says, for the schedule, and our late promises and goals at risk. One statement
    (a touch is recorded on every answer that logs one): each of its parts is a range scan of that client's rows
    (interactions on (client_id, occurred_at), its commitments and goals by client), so the cost is one client's
    history, never the workspace's."""
    session.flush()
    params: dict[str, Any] = {"client_id": client_id, "contacts_since": contacts_since,
                              "warnings_since": warnings_since, "warning_kinds": list(warning_kinds)}
    if primary_contact_id is not None:
        params["primary_contact_id"] = primary_contact_id
    found: dict[str, list[tuple[datetime | None, str | None]]] = {}
    for row in session.execute(_contact_facts_statement(primary_contact_id is not None), params):
        found.setdefault(row.tag, []).append((row.at, row.direction))
    last = found.get("last", [(None, None)])[0]

    def one(tag: str) -> datetime | None:
        return found.get(tag, [(None, None)])[0][0]

    def every(tag: str) -> list[datetime]:
        return sorted(when for when, _ in found.get(tag, []) if when is not None)

    return ContactFacts(
        last_contact_at=last[0],
        last_contact_direction=last[1],
        last_their_contact_at=one("their"),
        last_checkin_at=one("checkin"),
        unanswered=every("out"),
        their_contacts_since=every("contact"),
        warning_signs_since=every("warning"),
        last_primary_contact_at=one("primary"),
        late_since=every("late"),
        first_at=one("first"),
    )


def contacts_of(session: Session, client_id: int) -> list[Contact]:
    return list(session.scalars(_CONTACTS_OF, {"client_id": client_id}))


def all_workspaces(session: Session) -> list[Workspace]:
    """Installed workspaces only."""
    return list(session.scalars(select(Workspace).where(Workspace.uninstalled_at.is_(None)).order_by(Workspace.id)))


def has_interaction(session: Session, client_id: int, kind: str, occurred_at: datetime, note: str) -> bool:
    stmt = select(Interaction.id).where(
        Interaction.client_id == client_id,
        Interaction.kind == kind,
        Interaction.occurred_at == occurred_at,
        Interaction.note == note,
    )
    return session.scalar(stmt.limit(1)) is not None


def open_referral_counts(session: Session, workspace_id: int) -> dict[int, int]:
    stmt = (
        select(Referral.referrer_id, func.count())
        .where(Referral.workspace_id == workspace_id, Referral.thanked_at.is_(None))
        .group_by(Referral.referrer_id)
    )
    return {referrer: count for referrer, count in session.execute(stmt)}


def due_clients(session: Session, column: str, now: datetime, statuses: Sequence[str], *, strict: bool = False,
                after: tuple[datetime, int] | None = None, limit: int | None = None,
                workspace_id: int | None = None) -> list[Client]:
    """The next clients whose nudge of one kind is due, in (due time, id) order after `after`: a range on that
    kind's index, so the cost is what is due. `strict`: due only once the moment has passed, not at it.
    `workspace_id`: only that workspace's (a range on its (workspace, due time) index).
    On PostgreSQL rows another planner holds are skipped, so planners racing take different batches."""
    due_at = getattr(Client, column)
    stmt = select(Client).where(
        due_at < now if strict else due_at <= now,
        Client.status.in_(list(statuses)),
        Client.workspace_id.in_(INSTALLED),
        or_(Client.snoozed_until.is_(None), Client.snoozed_until <= now),
    ).order_by(due_at, Client.id)
    if workspace_id is not None:
        stmt = stmt.where(Client.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(due_at, Client.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


DueRow = TypeVar("DueRow", Commitment, Goal, Handoff, Closeout, LinkedChannel)


def due_page(session: Session, model: type[DueRow], now: datetime, still_open: Sequence[ColumnElement[bool]], *,
             after: tuple[datetime, int] | None, limit: int | None, workspace_id: int | None,
             due: InstrumentedAttribute[datetime | None]) -> list[tuple[DueRow, Client]]:
    """Rows of `model` whose rule is due a look (its `due` column passed) and still open, with
    their clients, in (due, id) order from `after`, of installed workspaces; with a `limit`, on PostgreSQL, rows
    another planner holds are skipped. What every scheduled thing a client has (commitments, goals, handoffs,
    closeouts, a linked channel's question) is planned from."""
    stmt = (select(model, Client).join(Client, Client.id == model.client_id)
            .where(due <= now, *still_open, model.workspace_id.in_(INSTALLED))
            .order_by(due, model.id))
    if workspace_id is not None:
        stmt = stmt.where(model.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(due, model.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True, of=model)
    return [(row, client) for row, client in session.execute(stmt)]


def due_referrals(session: Session, now: datetime, *, after: tuple[datetime, int] | None = None,
                  limit: int | None = None, workspace_id: int | None = None) -> list[tuple[Referral, Client, Client]]:
    referrer, referred = aliased(Client), aliased(Client)
    stmt = (
        select(Referral, referrer, referred)
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(referred, referred.id == Referral.referred_id)
        .where(
            Referral.next_nudge_at <= now,
            Referral.thanked_at.is_(None),
            Referral.workspace_id.in_(INSTALLED),
            referrer.status != "paused",
            or_(referrer.snoozed_until.is_(None), referrer.snoozed_until <= now),
        )
        .order_by(Referral.next_nudge_at, Referral.id)
    )
    if workspace_id is not None:
        stmt = stmt.where(Referral.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(tuple_(Referral.next_nudge_at, Referral.id) > tuple_(*after))
    if limit is not None:
        stmt = stmt.limit(limit).with_for_update(skip_locked=True, of=Referral)
    return [(r, a, b) for r, a, b in session.execute(stmt)]


def primary_contacts(session: Session, client_ids: Sequence[int]) -> dict[int, Contact]:
    """Each of these clients' primary contact, in one query."""
    found: dict[int, Contact] = {}
    if client_ids:
        stmt = select(Contact).where(Contact.client_id.in_(list(client_ids)), Contact.is_primary.is_(True)) \
            .order_by(Contact.id)
        for contact in session.scalars(stmt):
            found.setdefault(contact.client_id, contact)
    return found


def unsent_kind(session: Session, client_ids: Sequence[int], kind: str) -> set[int]:
    """Which of these clients have a nudge of this kind not posted yet."""
    if not client_ids:
        return set()
    stmt = select(Nudge.client_id).where(Nudge.client_id.in_(list(client_ids)), Nudge.kind == kind,
                                         Nudge.status.in_(("pending", "sending", "unknown")))
    return {client_id for client_id in session.scalars(stmt) if client_id is not None}


def warning_signs_of(session: Session, client_ids: Sequence[int], kinds: Sequence[str], since: datetime
                     ) -> dict[int, list[tuple[str, datetime]]]:
    """(kind, when) of each of these clients' warning signs since a moment, oldest first, in one query."""
    found: dict[int, list[tuple[str, datetime]]] = {}
    if client_ids:
        stmt = (select(Interaction.client_id, Interaction.kind, Interaction.occurred_at)
                .where(Interaction.client_id.in_(list(client_ids)), Interaction.kind.in_(list(kinds)),
                       Interaction.occurred_at >= since)
                .order_by(Interaction.client_id, Interaction.occurred_at, Interaction.id))
        for client_id, kind, at in session.execute(stmt):
            found.setdefault(client_id, []).append((kind, at))
    return found


def warning_signs(session: Session, client_id: int, kinds: Sequence[str], since: datetime) -> list[Interaction]:
    stmt = (
        select(Interaction)
        .where(Interaction.client_id == client_id, Interaction.kind.in_(list(kinds)), Interaction.occurred_at >= since)
        .order_by(Interaction.occurred_at)
    )
    return list(session.scalars(stmt))


def existing_dedup_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(select(Nudge.dedup_key).where(Nudge.dedup_key.in_(list(keys[start:start + 500])))))
    return found


def insert_nudges(session: Session, rows: Sequence[Mapping[str, object]]) -> Counter[str]:
    """Insert, skipping any dedup key already planned (by this process or another): planning is idempotent.
    Returns how many of each kind were new. One cached statement executed for many rows (SQLAlchemy's
    "insertmanyvalues"), not a statement compiled for each batch."""
    if not rows:
        return Counter()
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = Nudge.__table__
    assert isinstance(table, Table)  # declarative mapping gives every model a Table; typed only as a FromClause
    stmt = insert_fn(table).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.kind)
    return Counter(session.connection().execute(stmt, list(rows)).scalars())


def claim_nudges(session: Session, now: datetime, worker: str, limit: int, lease_expired: datetime,
                 workspace_ids: Sequence[int] | None = None) -> list[tuple[Nudge, datetime | None]]:
    """Claim what is due to post for this worker, atomically: digests, and the nudges on today's cards.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent sweepers take disjoint rows without waiting; a card is
    locked as a whole, so two sweepers never split one client's reasons between two messages. SQLite: the
    transaction began with BEGIN IMMEDIATE, so claims are serialised. A row left 'sending' past its lease
    (its worker died mid-post) is claimed again, as an unknown outcome to be checked before any resend.
    A client's nudge without a card is waiting for focus to choose it (storage.focus), and is not claimed.
    Returns each claimed nudge with the time it was previously claimed, for that check. `workspace_ids`: only
    those workspaces' (the ones inside their business hours), or every workspace's.
    """
    ready = or_(Nudge.next_attempt_at.is_(None), Nudge.next_attempt_at <= now)
    claimable = or_(Nudge.status.in_(("pending", "unknown")) & ready,
                    (Nudge.status == "sending") & (Nudge.claimed_at < lease_expired))
    digests = (select(Nudge).where(claimable, Nudge.client_id.is_(None)).order_by(Nudge.id).limit(limit)
               .with_for_update(skip_locked=True))
    cards = (select(Card.id).where(Card.id.in_(select(Nudge.card_id).where(claimable, Nudge.card_id.is_not(None))))
             .order_by(Card.id).limit(limit).with_for_update(skip_locked=True))
    if workspace_ids is not None:
        digests = digests.where(Nudge.workspace_id.in_(list(workspace_ids)))
        cards = cards.where(Card.workspace_id.in_(list(workspace_ids)))
    rows = list(session.scalars(digests))
    card_ids = list(session.scalars(cards))
    for offset in range(0, len(card_ids), 500):
        rows += session.scalars(select(Nudge).where(claimable, Nudge.card_id.in_(card_ids[offset:offset + 500]))
                                .order_by(Nudge.id))
    claimed = []
    for nudge in rows:
        if nudge.status == "sending":
            nudge.status = "unknown"
        claimed.append((nudge, nudge.claimed_at))
        nudge.claimed_by, nudge.claimed_at = worker, now
        nudge.attempts += 1
    session.flush()
    return claimed


def mark_nudges(session: Session, ids: Sequence[int], worker: str, **values: object) -> None:
    """Record an outcome, but only for rows this worker still holds."""
    if ids:
        session.execute(update(Nudge).where(Nudge.id.in_(list(ids)), Nudge.claimed_by == worker).values(**values))


def mark_unknown(session: Session, ids: Sequence[int], worker: str, posted_at: datetime, **values: object) -> None:
    """A post whose outcome is unknown: keep the first moment it may have reached Slack (in `sent_at`, which
    counts as the time sent only once the status says so), however many passes it then stays unknown."""
    mark_nudges(session, ids, worker, status="unknown", sent_at=func.coalesce(Nudge.sent_at, posted_at), **values)


def handled_workspace(session: Session, ids: Sequence[int]) -> int | None:
    """The workspace of these nudges if someone has handled any of them (a touch closed its card, say)."""
    if not ids:
        return None
    return session.scalar(select(Nudge.workspace_id).where(Nudge.id.in_(list(ids)), Nudge.handled_at.is_not(None))
                          .limit(1))


def release_nudges(session: Session, ids: Sequence[int], worker: str, status: str) -> None:
    """Hand claimed, unsent nudges back to the outbox: claimable again at once, the attempt not counted."""
    if ids:
        session.execute(update(Nudge).where(Nudge.id.in_(list(ids)), Nudge.claimed_by == worker).values(
            status=status, claimed_by=None, attempts=Nudge.attempts - 1))


def held_attempts(session: Session, ids: Sequence[int], worker: str) -> dict[int, int]:
    """Of these nudges, those that still exist and this worker still holds, with their attempts so far: a
    client forgotten mid-post takes its nudges with it, and a lease that ran out handed them to another."""
    if not ids:
        return {}
    return dict(session.execute(select(Nudge.id, Nudge.attempts).where(
        Nudge.id.in_(list(ids)), Nudge.claimed_by == worker)).all())


def release_claimed_at(session: Session, worker: str, claimed_at: datetime) -> int:
    """Hand back what a claim at `claimed_at` may have taken without its worker ever hearing so (the connection
    was lost around the commit): as unknown outcomes, so nothing is posted before its channel is checked."""
    result = session.execute(update(Nudge).where(
        Nudge.claimed_by == worker, Nudge.claimed_at == claimed_at, Nudge.status == "sending").values(
        status="unknown", claimed_by=None, attempts=Nudge.attempts - 1))
    return rows_changed(result)


def abandon_claims(session: Session, worker: str) -> int:
    """A process out of time to stop cleanly gives up whatever it still holds. The outcome of a post it may
    have had in flight is unknown: the next sweep looks for it in the channel's history before posting it."""
    result = session.execute(update(Nudge).where(Nudge.claimed_by == worker, Nudge.status == "sending").values(
        status="unknown", claimed_by=None, next_attempt_at=None))
    return rows_changed(result)


def get_workspace(session: Session, workspace_id: int) -> Workspace | None:
    return session.get(Workspace, workspace_id)


def has_unsent_nudge(session: Session, client_id: int, kind: str) -> bool:
    stmt = select(Nudge.id).where(Nudge.client_id == client_id, Nudge.kind == kind,
                                  Nudge.status.in_(("pending", "sending", "unknown")))
    return session.scalar(stmt.limit(1)) is not None


def recent_nudges(session: Session, client_id: int, sent_since: datetime) -> list[Nudge]:
    """Nudges nobody has acted on: still waiting to go out, or posted since `sent_since`."""
    return list(session.scalars(_RECENT_NUDGES, {"client_id": client_id, "sent_since": sent_since}))


def quiet_clients(session: Session, workspace_id: int, now: datetime, limit: int) -> tuple[list[Client], int]:
    """Silent past their threshold: already nudged this spell, or due to be."""
    return _page(session, _quiet_statement(), {"workspace_id": workspace_id, "now": now, "limit": limit})


@cache
def _quiet_statement() -> Any:
    current = [Client.workspace_id == bindparam("workspace_id"), Client.status.in_(("active", "prospect"))]
    nudged, due = Client.quiet_nudges > 0, Client.next_quiet_at < bindparam("now")
    # Counted as two ranges of ix_clients_workspace_quiet (nudged; not nudged and due), each read from the index
    # alone, instead of testing every current client's row for the OR. quiet_nudges counts up from 0, and `== 0`
    # (not `<= 0`) keeps SQLite's planner, which has no statistics, on that index rather than next_quiet_at's.
    total = select(
        select(func.count()).select_from(Client).where(*current, nudged).scalar_subquery()
        + select(func.count()).select_from(Client).where(*current, Client.quiet_nudges == 0, due).scalar_subquery()
    ).scalar_subquery()
    return longest_silent_first([*current, or_(nudged, due)], total)


def get_nudge(session: Session, workspace_id: int, nudge_id: int) -> Nudge | None:
    stmt = select(Nudge).where(Nudge.workspace_id == workspace_id, Nudge.id == nudge_id)
    return session.scalars(stmt).one_or_none()


def nudges_in_message(session: Session, workspace_id: int, channel_id: str, message_ts: str) -> list[Nudge]:
    stmt = select(Nudge).where(Nudge.workspace_id == workspace_id, Nudge.channel_id == channel_id,
                               Nudge.message_ts == message_ts).order_by(Nudge.id)
    return list(session.scalars(stmt))


def owned_current_clients(session: Session, workspace_id: int, owner_id: str) -> list[Client]:
    stmt = select(Client).where(Client.workspace_id == workspace_id, Client.owner_id == owner_id,
                                Client.status.in_(("active", "prospect", "paused")))
    return list(session.scalars(stmt))


def clients_with_open_nudges(session: Session, client_ids: Sequence[int], sent_since: datetime) -> set[int]:
    """Of these clients, those with a nudge nobody has acted on yet (waiting, or posted recently)."""
    found: set[int] = set()
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        stmt = select(Nudge.client_id).where(
            Nudge.client_id.in_(ids[start:start + 500]),
            Nudge.handled_at.is_(None),
            or_(Nudge.status.in_(("pending", "sending", "unknown")),
                (Nudge.status == "sent") & (Nudge.sent_at >= sent_since)),
        )
        found.update(session.scalars(stmt))
    return found




@cache
def _health_counts_statement() -> Any:
    """health_counts's statement, built once with its values as parameters (building it is most of its cost).
    Rows: (client, tag, kind, count, count since :recent_since, since when): our late signs first (their
    column types carry the union's), then interactions by kind, then referrals made."""
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    since: BindParameter[datetime] = bindparam("since")
    recent_since: BindParameter[datetime] = bindparam("recent_since")
    zero = literal(0, Integer)
    signs = our_late_signs(lambda model: model.client_id.in_(ids), recent_since)
    late = select(signs.c.client_id, literal("late", String).label("tag"), signs.c.kind, zero.label("n"),
                  zero.label("recent"), signs.c.at)
    in_recent = func.sum(case((Interaction.occurred_at >= recent_since, 1), else_=0))
    touches = (select(Interaction.client_id, literal("touch", String), Interaction.kind, func.count(), in_recent,
                      null())
               .where(Interaction.client_id.in_(ids), Interaction.occurred_at >= since)
               .group_by(Interaction.client_id, Interaction.kind))
    made = (select(Referral.referrer_id, literal("referral", String), null(), func.count(), zero, null())
            .where(Referral.referrer_id.in_(ids), Referral.created_at >= since)
            .group_by(Referral.referrer_id))
    return union_all(late, touches, made)


@dataclass(frozen=True)
class HealthCounts:
    """What a page of clients' health labels are worked out from, per client."""

    kinds: dict[int, dict[str, int]]  # interactions by kind since `since`
    recent_kinds: dict[int, dict[str, int]]  # the same since `recent_since`
    referrals: dict[int, int]  # referrals they made since `since`
    late: dict[int, list[tuple[str, datetime]]]  # our late signs since `recent_since`, oldest first (as late_signs_of)


def health_counts(session: Session, client_ids: Sequence[int], since: datetime, recent_since: datetime
                  ) -> HealthCounts:
    """One statement per 500 clients: a list's every line shows a health label, and each statement costs a round
    trip (the referrals and our late signs ride along as rows of their own)."""
    assert recent_since >= since
    found = HealthCounts({cid: {} for cid in client_ids}, {cid: {} for cid in client_ids}, {}, {})
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        params = {"ids": ids[start:start + 500], "since": since, "recent_since": recent_since}
        for client_id, tag, kind, count, recent_count, at in session.execute(_health_counts_statement(), params):
            if tag == "late":
                found.late.setdefault(client_id, []).append((kind, at))
            elif tag == "referral":
                found.referrals[client_id] = count
            else:
                found.kinds[client_id][kind] = count
                if recent_count:
                    found.recent_kinds[client_id][kind] = recent_count
    for signs in found.late.values():
        signs.sort(key=lambda sign: (sign[1], sign[0]))
    return found


def referral_dates(session: Session, referrer_id: int, since: datetime) -> list[datetime]:
    stmt = select(Referral.created_at).where(Referral.referrer_id == referrer_id, Referral.created_at >= since)
    return list(session.scalars(stmt))


def add_audit_event(session: Session, workspace_id: int, client_id: int | None, actor_id: str, action: str,
                    detail: str, at: datetime) -> None:
    session.add(AuditEvent(workspace_id=workspace_id, client_id=client_id, actor_id=actor_id, action=action,
                           detail=detail, at=at))


def audit_events(session: Session, workspace_id: int, client_id: int | None = None, *,
                 limit: int | None = None) -> list[AuditEvent]:
    """Newest first; one client's, or the whole workspace's."""
    stmt = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    stmt = stmt.order_by(AuditEvent.id.desc())
    return list(session.scalars(stmt.limit(limit) if limit else stmt))


def workspaces_for_install(session: Session, enterprise_id: str | None, team_id: str | None) -> list[Workspace]:
    """The workspaces an installation covers: one team (by its id alone: a team moved into an Enterprise Grid org
    keeps it), or every team of an organisation-wide install."""
    stmt = (select(Workspace).where(Workspace.team_id == team_id) if team_id else
            select(Workspace).where(Workspace.enterprise_id == (enterprise_id or "")))
    return list(session.scalars(stmt.order_by(Workspace.id)))


def drop_unsent_nudges(session: Session, workspace_id: int, reason: str) -> int:
    result = session.execute(
        update(Nudge)
        .where(Nudge.workspace_id == workspace_id, Nudge.status.in_(["pending", "unknown"]))
        .values(status="dropped", last_error=reason)
    )
    return rows_changed(result)


def workspaces_uninstalled_before(session: Session, cutoff: datetime) -> list[Workspace]:
    return list(session.scalars(select(Workspace).where(Workspace.uninstalled_at <= cutoff).order_by(Workspace.id)))


def uninstalled_count(session: Session) -> int:
    """Workspaces Slack says uninstalled Rapport or revoked its bot token (for /metrics)."""
    return session.scalar(select(func.count()).select_from(Workspace).where(Workspace.uninstalled_at.is_not(None))) or 0


def erase_workspace(session: Session, workspace: Workspace) -> None:
    """Everything Rapport holds about a workspace, children first (SQLite enforces cascades only with the
    foreign_keys pragma, and explicit deletes keep erasure complete either way)."""
    # ClientCount after Client: removing the clients adds their -1 rows
    for model in (*MAIL_MODELS, AuditEvent, Nudge, Card, FocusDay, LinkedChannel, Commitment, GoalCheck, Goal,
                  ReviewMonth, ReviewFreeze, CloseoutTick, Closeout, Handoff, Interaction, Referral, Contact, Client,
                  ClientCount):
        session.execute(delete(model).where(model.workspace_id == workspace.id))
    # A statement, not session.delete: another sweep may have erased it first, which is fine.
    session.execute(delete(Workspace).where(Workspace.id == workspace.id))
    session.info[ERASED] = True


def value_standing(session: Session, workspace_id: int, value: int) -> tuple[int, int]:
    """(current clients worth more than `value`, current clients with a value set), in one pass over the workspace's
    range of the value index."""
    valued = [Client.workspace_id == workspace_id, Client.value.is_not(None), Client.status != "former"]
    above, total = session.execute(select(func.sum(case((Client.value > value, 1), else_=0)), func.count())
                                   .select_from(Client).where(*valued)).one()
    return above or 0, total or 0


def value_median(session: Session, workspace_id: int) -> float | None:
    """The median value of current clients with one set; what an unset value ranks as."""
    valued = [Client.workspace_id == workspace_id, Client.value.is_not(None), Client.status != "former"]
    total = session.scalar(select(func.count()).select_from(Client).where(*valued)) or 0
    if not total:
        return None
    middle = select(Client.value).where(*valued).order_by(Client.value)
    values = [v for v in session.scalars(middle.offset((total - 1) // 2).limit(2 - total % 2)) if v is not None]
    return sum(values) / len(values)


def outbox_figures(session: Session) -> tuple[dict[str, int], datetime | None]:
    """Nudges by status, with 'waiting' (a client's, pending without a card) apart from 'pending' (ready to
    post), and when the oldest one ready to post was planned."""
    waiting = (Nudge.status == "pending") & Nudge.card_id.is_(None) & Nudge.client_id.is_not(None)
    counts: dict[str, int] = {}
    for status, is_waiting, count in session.execute(
            select(Nudge.status, waiting, func.count()).group_by(Nudge.status, waiting)):
        key = "waiting" if is_waiting else status
        counts[key] = counts.get(key, 0) + count
    ready = Nudge.status.in_(("pending", "sending", "unknown")) & (
        Nudge.card_id.is_not(None) | Nudge.client_id.is_(None))
    oldest = session.scalar(select(func.min(Nudge.created_at)).where(ready))
    if oldest is not None and oldest.tzinfo is None:  # an aggregate over SQLite's naive column
        oldest = oldest.replace(tzinfo=UTC)
    return counts, oldest


def last_marker(session: Session, name: str) -> datetime | None:
    marker = session.get(Marker, name)
    return marker.at if marker else None


def set_marker(session: Session, name: str, at: datetime) -> None:
    """Moves forward only (a sweep `--at` an earlier instant does not set it back); safe when sweeps race."""
    insert_fn = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert_fn(Marker).values(name=name, at=at)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"at": stmt.excluded.at},
                                               where=Marker.at < stmt.excluded.at))


def clients_page(session: Session, workspace_id: int, after_id: int, limit: int) -> list[Client]:
    """The next `limit` clients of a workspace after `after_id`, by id: for working through all of them in chunks."""
    stmt = (select(Client).where(Client.workspace_id == workspace_id, Client.id > after_id)
            .order_by(Client.id).limit(limit))
    return list(session.scalars(stmt))


def client_names(session: Session, client_ids: Sequence[int] | set[int]) -> dict[int, str]:
    ids = list(client_ids)
    return dict(session.execute(select(Client.id, Client.name).where(Client.id.in_(ids))).all()) if ids else {}


def routes_of(session: Session, client_ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    """(channel, owner) of each of these clients: where its nudges go."""
    found: dict[int, tuple[str | None, str]] = {}
    ids = list(client_ids)
    for start in range(0, len(ids), 500):
        stmt = select(Client.id, Client.channel_id, Client.owner_id).where(Client.id.in_(ids[start:start + 500]))
        found.update({client_id: (channel, owner) for client_id, channel, owner in session.execute(stmt)})
    return found


def route_targets(session: Session, workspace_id: int) -> tuple[set[str], set[str]]:
    """The distinct client channels, and the owners of clients without one: where nudges can go."""
    channels = set(session.scalars(select(Client.channel_id).distinct().where(
        Client.workspace_id == workspace_id, Client.channel_id.is_not(None))))
    owners = set(session.scalars(select(Client.owner_id).distinct().where(
        Client.workspace_id == workspace_id, Client.channel_id.is_(None))))
    return {c for c in channels if c}, owners


def lock_client(session: Session, workspace_id: int, client_id: int) -> Client | None:
    """The client read afresh, its row locked until the transaction ends. Whatever a click changes belongs to
    one client, so every click takes this one lock before it reads what it acts on: of two clicks at once the
    second waits, then sees what the first did (PostgreSQL FOR UPDATE; SQLite's write transaction began with
    BEGIN IMMEDIATE, which already lets one writer in at a time)."""
    stmt = (select(Client).where(Client.workspace_id == workspace_id, Client.id == client_id)
            .with_for_update().execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()


def client_id_of_nudge(session: Session, workspace_id: int, nudge_id: int) -> int | None:
    """Whose a nudge is, read without loading it, so that it is first loaded after the client's lock."""
    return session.scalar(select(Nudge.client_id).where(Nudge.workspace_id == workspace_id, Nudge.id == nudge_id))


def referrer_id_of(session: Session, workspace_id: int, referral_id: int) -> int | None:
    """Who made a referral, read without loading it (see client_id_of_nudge)."""
    return session.scalar(select(Referral.referrer_id).where(Referral.workspace_id == workspace_id,
                                                             Referral.id == referral_id))


def last_handled_nudge(session: Session, client_id: int) -> Nudge | None:
    """The client's nudge someone acted on most recently."""
    stmt = (select(Nudge).where(Nudge.client_id == client_id, Nudge.handled_at.is_not(None))
            .order_by(Nudge.handled_at.desc(), Nudge.id.desc()).limit(1))
    return session.scalars(stmt).first()


def forgotten_event(session: Session, workspace_id: int, client_id: int) -> AuditEvent | None:
    """Who forgot a client, and when: the one entry forgetting leaves behind."""
    stmt = (select(AuditEvent).where(AuditEvent.workspace_id == workspace_id, AuditEvent.client_id == client_id,
                                     AuditEvent.action == "forgotten").order_by(AuditEvent.id.desc()).limit(1))
    return session.scalars(stmt).first()


def out_kinds_since(session: Session, since: dict[int, datetime]) -> dict[int, dict[str, int]]:
    """Per client, how many touches of each kind we made since the given moment (its unanswered streak): what a
    card says as "no reply to 2 emails and a call"."""
    found: dict[int, dict[str, int]] = {}
    ids = list(since)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        stmt = select(Interaction.client_id, Interaction.kind, Interaction.occurred_at).where(
            Interaction.client_id.in_(chunk), Interaction.direction == "out",
            Interaction.occurred_at >= min(since[i] for i in chunk))
        for client_id, kind, at in session.execute(stmt):
            if at >= since[client_id]:
                kinds = found.setdefault(client_id, {})
                kinds[kind] = kinds.get(kind, 0) + 1
    return found
