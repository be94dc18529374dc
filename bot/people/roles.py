"""Contact roles and how `/client contact` reads them. Pure: no database, no Slack."""

from __future__ import annotations

from dataclasses import dataclass

from bot.addresses import looks_like_email, normalize_email

PRIMARY, SPONSOR, OTHER = "primary", "sponsor", "other"
ROLES = (PRIMARY, SPONSOR, OTHER)
# `advocate` is what the primary contact is for: a word for the same role
ROLE_WORDS = {"primary": PRIMARY, "advocate": PRIMARY, "sponsor": SPONSOR, "other": OTHER}
ROLE_LABELS = {PRIMARY: "primary contact (advocate)", SPONSOR: "sponsor", OTHER: "contact"}
SHORT_LABELS = {PRIMARY: "primary", SPONSOR: "sponsor", OTHER: "other"}


@dataclass(frozen=True)
class ContactWords:
    """What follows the client in `/client contact <client> …`, split but not yet checked."""

    name: str
    role: str | None = None
    user: str | None = None  # the raw `<@U…>` or `@name` word, for the caller to resolve
    remove: bool = False
    email: str | None = None  # their address, normalised: captured mail from or to it is a touch with them


class ContactWordsError(ValueError):
    pass


def read_contact_words(rest: str) -> ContactWords:
    """`Jane Doe sponsor <@U123>` -> name, role, user; `Jane Doe remove` -> removal. Role and user may come in
    either order after the name; a name may be quoted to hold a role word (`"Other Smith"`)."""
    text = rest.strip()
    if not text:
        raise ContactWordsError("Which person? Put their name after the client.")
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise ContactWordsError("A quoted name needs its closing quote.")
        name, tail = text[1:end], text[end + 1:].split()
    elif text.split()[-1].lower() == "remove" and len(text.split()) > 1:
        return ContactWords(name=" ".join(text.split()[:-1]), remove=True)  # the whole rest is the name
    else:
        words = text.split()
        tail = []
        while words and (words[-1].lower() in (*ROLE_WORDS, "remove") or words[-1].startswith(("<@", "@"))
                         or looks_like_email(words[-1])):
            tail.insert(0, words.pop())
        name = " ".join(words)
    role = user = email = None
    remove = False
    for word in tail:
        lowered = word.lower()
        if looks_like_email(word):
            if email is not None:
                raise ContactWordsError("Give a contact one email address at most.")
            email = normalize_email(word)
        elif lowered == "remove":
            remove = True
        elif lowered in ROLE_WORDS:
            if role is not None:
                raise ContactWordsError("Give one role: primary (or advocate), sponsor or other.")
            role = ROLE_WORDS[lowered]
        elif word.startswith(("<@", "@")):
            if user is not None:
                raise ContactWordsError("Tie a contact to one Slack user at most.")
            user = word
        else:
            raise ContactWordsError(f"I don't understand {word!r} after the name.")
    if remove and (role is not None or user is not None or email is not None):
        raise ContactWordsError("To remove a contact, give only their name and remove.")
    return ContactWords(name=name, role=role, user=user, remove=remove, email=email)


def format_contacts(people: list[tuple[str, str, str | None]]) -> str:
    """CSV's `contacts` cell: `Jane Doe <jane@acme.com> (primary); Sam Lee (sponsor)`."""
    return "; ".join(f"{name}{f' <{email}>' if email else ''} ({SHORT_LABELS.get(role, role)})"
                     for name, role, email in people)


def parse_contacts_cell(cell: str) -> list[tuple[str, str, str | None]]:
    """The reverse of format_contacts: (name, role, email); a name without a role is `other`, without an address
    None. The address may be in angle brackets or a bare last word. Raises ContactWordsError."""
    found: list[tuple[str, str, str | None]] = []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        role = OTHER
        if part.endswith(")") and "(" in part:
            head, _, word = part[:-1].rpartition("(")
            if word.strip().lower() not in ROLE_WORDS:
                raise ContactWordsError(f"{word.strip()!r} is not a role: use primary, sponsor or other.")
            role, part = ROLE_WORDS[word.strip().lower()], head.strip()
        email = None
        last = part.rsplit(None, 1)[-1] if part else ""
        if last and (last.startswith("<") or "@" in last):
            email = normalize_email(last)
            if email is None:
                raise ContactWordsError(f"{last!r} is not an email address.")
            part = part[: -len(last)].strip()
        if not part:
            raise ContactWordsError("A contact needs a name before its role.")
        found.append((part, role, email))
    if sum(1 for _, role, _ in found if role == PRIMARY) > 1:
        raise ContactWordsError("Only one contact can be primary.")
    return found
