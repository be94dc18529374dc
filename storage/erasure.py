"""Forgetting: a client and every trace of it, a workspace whose app was uninstalled."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    delete,
    or_,
    select,
)
from sqlalchemy.orm import Session

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
    Nudge,
    Referral,
    ReviewFreeze,
    ReviewMonth,
    Workspace,
)


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
