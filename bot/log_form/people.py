"""The log form's *With* picker (PRODUCT.md §4.13): one of the chosen client's contacts, so the touch records
who it was with; the same advocate-first rule as `log … with` follows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.people.heads_up import after_touch
from bot.people.roles import SHORT_LABELS
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.slack.text import to_plain
from bot.workspaces import tz_of
from storage.clients import get_client
from storage.contacts import contacts_by_role
from storage.models import Client, Contact, Interaction, Workspace
from storage.names import name_key

BLOCK = "with"
OPTIONS_LIMIT = 20


def with_block(contact: Contact | None = None) -> b.Block:
    """`contact`: who it starts with (the author of a message logged with Log to Rapport)."""
    element: dict[str, Any] = {"type": "external_select", "action_id": BLOCK, "min_query_length": 0,
                               "placeholder": {"type": "plain_text", "text": "Who was it with?"}}
    if contact is not None:
        element["initial_option"] = _contact_option(contact)
    return {"type": "input", "block_id": BLOCK, "optional": True,
            "label": {"type": "plain_text", "text": "With (one of the client's people)"},
            "hint": {"type": "plain_text", "text": "Pick the client first. Add people with /client contact."},
            "element": element}


def _contact_option(contact: Contact) -> dict[str, Any]:
    label = f"{contact.name} ({SHORT_LABELS.get(contact.role, contact.role)})"
    return {"text": {"type": "plain_text", "text": b.clip(label, 75)}, "value": str(contact.id)}


def selected_client_id(view: Any) -> int | None:
    """The client picked so far in the form, from the (untrusted) view state of an options request."""
    try:
        value = view["state"]["values"]["client"]["client"]["selected_option"]["value"]
    except (KeyError, TypeError):
        return None
    ok = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18
    return int(value) if ok else None


def contact_options(session: Session, ctx: Context, client_id: int | None, query: str) -> list[dict[str, Any]]:
    client = get_client(session, ctx.workspace_id, client_id) if client_id is not None else None
    if client is None:
        return []
    key = name_key(to_plain(query or ""))
    found = [c for c in contacts_by_role(session, client.id) if c.name_key.startswith(key)][:OPTIONS_LIMIT]
    return [_contact_option(c) for c in found]


def chosen_contact(session: Session, client: Client, value: str | None) -> Contact | str | None:
    """The contact picked, None if none was, or an error message for the *With* block."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return "Pick someone from the list."
    contact = session.get(Contact, int(value))
    if contact is None or contact.client_id != client.id:
        return f"Pick one of {client.name}'s people (the client may have changed)."
    return contact


def after_logged(session: Session, ctx: Context, client: Client, touch: Interaction) -> None:
    """Advocate first after a touch logged from the form: with whoever it was with (picked, or named in the
    note)."""
    contact = session.get(Contact, touch.contact_id) if touch.contact_id is not None else None
    workspace = session.get(Workspace, ctx.workspace_id)
    zone = tz_of(workspace, ctx.user_tz()) if workspace is not None else ctx.user_tz()
    after_touch(session, client, contact, touch.direction, touch.occurred_at, Settings.business_hours.days, zone)
