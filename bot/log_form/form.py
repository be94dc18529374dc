"""The "Log a touch" modal: the form, its client typeahead, and its submission (one transaction)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.commitments.ledger import AlreadyOpenError, record
from bot.log_form.goals import GOAL_OPTION, goal_from_form, note_of
from bot.log_form.people import BLOCK, after_logged, chosen_contact, with_block
from bot.nudges.cards import message_updates
from bot.relationship.cards import close_card_of
from bot.relationship.kinds import ALL_KINDS, CONTACT_KINDS, LABELS, direction_conflict, direction_for, touch_words
from bot.relationship.record import record_interaction
from bot.relationship.said import clean_text
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.slack.message_updates import MessageUpdate
from bot.slack.text import to_plain
from bot.when import WhenError, parse_future_day, parse_when
from storage.clients import clients_with_key_prefix, get_client
from storage.models import NOTE_MAX, Client, Contact
from storage.names import name_key

CALLBACK = "log_touch"
DIRECTIONS = (("both", "Two-way"), ("from", "From them"), ("to", "From us, no reply yet"))
OPTIONS_LIMIT = 20
# What we owe them (PRODUCT.md §4.10), offered beside the touches: the note says what, the date is its day.
COMMITMENTS = (("promise", "A promise we made (promise)"), ("issue", "An issue they wait on us to fix (issue)"))


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": b.clip(label, 75)}, "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> b.Block:
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": label}, "element": {**element, "action_id": block_id}}


@dataclass(frozen=True)
class FromMessage:
    """A Slack message the form logs (the Log to Rapport shortcut): where it is, when it was written, and what
    the form starts with (the author's side, its text as an editable note)."""

    channel: str
    ts: str
    direction: str  # 'from', 'to' or 'both' when its author's side is unknown
    note: str


def log_form(client: tuple[int, str] | None, today: date, nudge_id: int | None = None,
             from_home: bool = False, message: FromMessage | None = None,
             contact: Contact | None = None) -> dict[str, Any]:
    picker: dict[str, Any] = {"type": "external_select", "min_query_length": 0,
                              "placeholder": {"type": "plain_text", "text": "Start typing a client's name"}}
    if client is not None:
        picker["initial_option"] = _option(client[1], str(client[0]))
    kinds = [_option(f"{LABELS[k].capitalize()} ({k})" if LABELS[k] != k else k.capitalize(), k) for k in ALL_KINDS]
    kinds += [_option(label, k) for k, label in (*COMMITMENTS, GOAL_OPTION)]
    directions = [_option(label, value) for value, label in DIRECTIONS]
    kind = kinds[ALL_KINDS.index("message")] if message else kinds[0]
    direction = next(d for d in directions if d["value"] == message.direction) if message else directions[0]
    note: dict[str, Any] = {"type": "plain_text_input", "multiline": True, "max_length": NOTE_MAX}
    if message and message.note:
        note["initial_value"] = message.note[:NOTE_MAX]
    meta: dict[str, Any] = {"nudge": nudge_id, **({"home": True} if from_home else {})}
    if message:
        meta["message"] = {"channel": message.channel, "ts": message.ts}
    return {
        "type": "modal", "callback_id": CALLBACK,
        "title": {"type": "plain_text", "text": "Log a touch"},
        "submit": {"type": "plain_text", "text": "Log it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(meta),
        "blocks": [
            _input("client", "Client", picker),
            with_block(contact),
            _input("kind", "What happened", {"type": "static_select", "options": kinds, "initial_option": kind}),
            _input("direction", "Who reached whom (calls, meetings, emails, messages, visits)",
                   {"type": "static_select", "options": directions, "initial_option": direction},
                   optional=True),
            {**_input("date", "When", {"type": "datepicker", "initial_date": today.isoformat()}),
             "hint": {"type": "plain_text", "text": "For a promise or a goal: the day it is due. For an issue: your "
                                                   "estimate, or leave today for none."}},
            {**_input("note", "Note", note, optional=True),
             "hint": {"type": "plain_text", "text": "For a promise, an issue or a goal: what it is, in a line."}},
        ],
    }


def client_options(session: Session, ctx: Context, query: str) -> list[dict[str, Any]]:
    found = clients_with_key_prefix(session, ctx.workspace_id, name_key(to_plain(query or "")), OPTIONS_LIMIT)
    return [_option(c.name + ("" if c.status == "active" else f" ({c.status})"), str(c.id)) for c in found]


def _selected(values: dict[str, Any], block: str, key: str = "selected_option") -> Any:
    field = (values.get(block) or {}).get(block) or {}
    chosen = field.get(key)
    return chosen.get("value") if isinstance(chosen, dict) else chosen


def submit(session: Session, ctx: Context, values: dict[str, Any],
           private_metadata: str) -> tuple[dict[str, str], list[MessageUpdate]]:
    """Validate and log. Returns errors by block (nothing written), or the card messages to bring up to date."""
    errors: dict[str, str] = {}
    client_value = str(_selected(values, "client") or "")
    # ASCII digits only, and few: '²' is a digit to isdigit() but not to int(), and a 30-digit id overflows
    known = client_value.isascii() and client_value.isdigit() and len(client_value) <= 18
    client = get_client(session, ctx.workspace_id, int(client_value)) if known else None
    if client is None:
        errors["client"] = "Pick a client from the list (it may have been renamed or forgotten)."
    kind = str(_selected(values, "kind") or "")
    if kind in dict(COMMITMENTS):
        return _commitment(session, ctx, client, kind, values, errors), []
    if kind == GOAL_OPTION[0]:
        day = str(_selected(values, "date", "selected_date") or "")
        return goal_from_form(session, ctx, client, note_of(values), day, errors), []
    if kind not in ALL_KINDS:
        errors["kind"] = "Pick what happened from the list."
    raw_direction = str(_selected(values, "direction") or "both")
    override = raw_direction if raw_direction in ("from", "to") else None
    if kind in ALL_KINDS and kind not in CONTACT_KINDS and override:
        conflict = direction_conflict(kind, override)
        if conflict:
            errors["direction"] = conflict.replace(f"drop {override!r}", "leave this as two-way")
        override = None
    day = str(_selected(values, "date", "selected_date") or "")
    when = None
    try:
        when = parse_when(day, ctx.now, ctx.user_tz())
    except WhenError as exc:
        errors["date"] = str(exc)
    note_raw = (values.get("note") or {}).get("note", {}).get("value")
    note = to_plain(note_raw).strip() if isinstance(note_raw, str) else None
    if note and len(note) > NOTE_MAX:
        errors["note"] = f"That note is {len(note)} characters; the limit is {NOTE_MAX}."
    if kind == "note" and not note:
        errors["note"] = "A note needs words."
    contact = chosen_contact(session, client, _selected(values, BLOCK)) if client is not None else None
    if isinstance(contact, str):
        errors[BLOCK] = contact
    if errors or client is None or when is None or isinstance(contact, str):
        return errors or {"client": "Pick a client."}, []
    try:
        meta = json.loads(private_metadata or "{}")
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    logged = message_of(meta)
    if logged is not None and when.astimezone(ctx.user_tz()).date() == logged[1].astimezone(ctx.user_tz()).date():
        when = min(logged[1], ctx.now)  # the day the message was written: keep the time it was written too
    direction = direction_for(kind, override)
    touch = record_interaction(session, client, kind, direction, when, note or None, ctx.user_id, ctx.now,
                               contact=contact)
    after_logged(session, ctx, client, touch)
    if logged is not None:
        touch.source, touch.channel_id, touch.message_ts = "shortcut", logged[0], logged[2]
    nudge_id = meta.get("nudge")
    close_card_of(session, ctx.workspace_id, nudge_id if isinstance(nudge_id, int) else None, touch_words(kind),
                  ctx.user_id, ctx.now)
    updates = message_updates(session, ctx.workspace_id, ctx.settings.tz)
    return {}, updates


def _commitment(session: Session, ctx: Context, client: Client | None, kind: str, values: dict[str, Any],
                errors: dict[str, str]) -> dict[str, str]:
    """A promise or an issue from the form: the note says what, the date is the promise's day or the issue's
    estimate (today: none). Returns errors by block; nothing is written unless there are none."""
    note_raw = (values.get("note") or {}).get("note", {}).get("value")
    what = ""
    try:
        what = clean_text(note_raw if isinstance(note_raw, str) else "")
    except ValueError as exc:
        errors["note"] = f"Say what you {'promised' if kind == 'promise' else 'are fixing'}, in a line." \
            if str(exc) == "Say what" else f"{exc}."
    day = str(_selected(values, "date", "selected_date") or "")
    due_on = None
    try:
        due_on = parse_future_day(day, ctx.now, ctx.user_tz())
    except WhenError as exc:
        errors["date"] = str(exc).replace("a promise is", "a promise or an estimate is") if day else \
            "Pick the day it is due."
    if kind == "issue" and due_on == ctx.now.astimezone(ctx.user_tz()).date():
        due_on = None
    if errors or client is None or (kind == "promise" and due_on is None):
        return errors or {"client": "Pick a client."}
    try:
        record(session, client, kind, what, due_on, ctx.user_id, ctx.now)
    except AlreadyOpenError:
        return {"note": f"{client.name} already has this issue open; pick a day to give a new estimate."}
    return {}


def message_of(meta: dict[str, Any]) -> tuple[str, datetime, str] | None:
    """(channel, when it was written, ts) of the message a form logs, from its (untrusted) private metadata."""
    message = meta.get("message")
    if not isinstance(message, dict):
        return None
    channel, ts = message.get("channel"), message.get("ts")
    if not (isinstance(channel, str) and 0 < len(channel) <= 32 and isinstance(ts, str) and 0 < len(ts) <= 32):
        return None
    try:
        return channel, datetime.fromtimestamp(float(ts), UTC), ts
    except (ValueError, OverflowError, OSError):
        return None


def opened_from_home(private_metadata: str) -> bool:
    """Whether the form was opened from the App Home, which then shows the touch at once."""
    try:
        meta = json.loads(private_metadata or "{}")
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("home") is True
