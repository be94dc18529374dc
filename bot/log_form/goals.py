"""A goal from the *Log a touch* form (PRODUCT.md §4.11): the note says what success looks like, the date is when
it should be reached; the odds are the default 70% (the command states others, and barriers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot import audit
from bot.goals.ledger import DEFAULT_ODDS, agree
from bot.relationship.said import clean_text
from bot.slack.caller import Context
from bot.when import WhenError, parse_future_day
from storage.clients import lock_client
from storage.goals import open_goals
from storage.models import Client
from storage.names import name_key

GOAL_OPTION = ("goal", f"A goal we agreed with them (goal, odds {DEFAULT_ODDS}%)")


def goal_from_form(session: Session, ctx: Context, client: Client | None, note_raw: object, day: str,
                   errors: dict[str, str]) -> dict[str, str]:
    """Returns errors by block; nothing is written unless there are none."""
    what = ""
    try:
        what = clean_text(note_raw if isinstance(note_raw, str) else "")
    except ValueError as exc:
        errors["note"] = "Say what success looks like for them, in a line." if str(exc) == "Say what" else f"{exc}."
    due_on = None
    try:
        due_on = parse_future_day(day, ctx.now, ctx.user_tz())
    except WhenError as exc:
        errors["date"] = str(exc).replace("a promise is", "a goal is") if day else "Pick the day it is due."
    if errors or client is None or due_on is None:
        return errors or {"client": "Pick a client."}
    # under the client's lock, as the command: the same goal agreed twice at once is one goal
    if lock_client(session, ctx.workspace_id, client.id) is None:
        return {"client": "That client was forgotten a moment ago; pick another."}
    if any(name_key(g.what) == name_key(what) for g in open_goals(session, client.id)):
        return {"note": f"{client.name} already has this goal open."}
    agree(session, client, what, due_on, DEFAULT_ODDS, [], ctx.user_id, ctx.now)
    audit.record(session, ctx.workspace_id, ctx.user_id, "goal", ctx.now, client_id=client.id, detail=what)
    return {}


def note_of(values: dict[str, Any]) -> object:
    return (values.get("note") or {}).get("note", {}).get("value")
