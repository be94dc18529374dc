"""Finding one of a client's contacts by what someone typed, matched like client names: the whole name
(case-insensitive), else a unique prefix, else suggestions."""

from __future__ import annotations

import difflib

from storage.models import Contact
from storage.names import name_key


class ContactLookupError(ValueError):
    pass


def find_contact(contacts: list[Contact], typed: str, client_name: str) -> Contact:
    key = name_key(typed)
    if not key:
        raise ContactLookupError("Say who it was with, like with Jane Doe.")
    for contact in contacts:
        if contact.name_key == key:
            return contact
    found = [c for c in contacts if c.name_key.startswith(key)]
    if len(found) == 1:
        return found[0]
    if found:
        raise ContactLookupError(f"{typed!r} could be {' or '.join(c.name for c in found[:5])}. Say which.")
    if not contacts:
        raise ContactLookupError(f"{client_name} has no contacts yet. Add one: /client contact {client_name} {typed}")
    close = difflib.get_close_matches(key, [c.name_key for c in contacts], n=3, cutoff=0.6)
    names = [c.name for c in contacts if c.name_key in close]
    hint = f" Did you mean {' or '.join(names)}?" if names else \
        f" Its contacts: {', '.join(c.name for c in contacts[:10])}."
    raise ContactLookupError(f"{client_name} has no contact named {typed!r}.{hint}")
