"""Who a message is between, and which touches it makes (PRODUCT.md §4.15 *Who*, *Direction*, *Not a touch*,
*Forwarded*). Pure: the directory of addresses and domains is read by the caller.

Every address in From, To and Cc is one of a client's people (a contact's exact address first, else a client's
domain or a parent of it, never a free-mail domain), one of ours (the workspace's own domains), or nobody we know.
From one of theirs: `in` for their client. From one of ours: `out` for each client among the recipients. Mail among
our own people only, mail with no client in it and automated mail are not touches.

Until the workspace's own domains are set (`/client mail ours`), Rapport cannot tell a colleague from a stranger:
mail from anyone who is not a client's is then skipped (reason `ours unset`), never guessed to be ours — a vendor
writing to a client with us in copy must not count as our outreach. Mail from a client's people counts from the
first day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.addresses import domain_of, is_free_mail, normalize_email, suffixes
from bot.capture.mail.parsed import Meeting, ParsedMail

# Why a message was not a touch: the keys of the daily counts, and what /client mail and App Home call them.
AUTOMATED, INTERNAL, UNMATCHED, THIRD_PARTY, OURS_UNSET = "automated", "internal", "unmatched", "third party", \
    "ours unset"
DUPLICATE, UNREADABLE = "already recorded", "unreadable"
SKIP_WORDS = {
    UNMATCHED: "no client's address or domain in it",
    AUTOMATED: "auto-replies, bulk and list mail",
    INTERNAL: "among your own people only",
    OURS_UNSET: "not from a client, and your own domains are not set",
    THIRD_PARTY: "from someone neither yours nor a client's",
    DUPLICATE: "already recorded (a copy or a retry)",
    UNREADABLE: "unreadable",
}
FORWARD_DEPTH = 5  # a forward of a forward of …: followed this far


@dataclass(frozen=True)
class Known:
    """A contact's address: one of a client's people (the same address may be a contact at two clients)."""

    client_id: int
    contact_id: int
    primary: bool


@dataclass(frozen=True)
class Directory:
    """What the workspace knows of addresses: contacts' exact addresses, client domains and its own domains."""

    contacts: dict[str, tuple[Known, ...]] = field(default_factory=dict)  # address -> contacts with it
    domains: dict[str, int] = field(default_factory=dict)  # client domain -> client
    ours: frozenset[str] = frozenset()

    def of(self, address: str | None) -> Party:
        if not address:
            return NOBODY
        found = normalize_email(address)
        if found is None:
            return NOBODY
        known = self.contacts.get(found)
        if known:
            return Party(tuple(Side(k.client_id, k.contact_id, k.primary) for k in known))
        domains = suffixes(domain_of(found))
        if any(d in self.ours for d in domains):
            return Party((), ours=True)
        if is_free_mail(domain_of(found)):
            return NOBODY  # only a contact's exact address matches there
        client = next((self.domains[d] for d in domains if d in self.domains), None)
        return Party((Side(client, None, False),)) if client is not None else NOBODY


def candidates(addresses: Iterable[str | None]) -> tuple[set[str], set[str]]:
    """The normalised addresses, and every domain (and parent) a client's domain could be, to look up."""
    found = {a for a in (normalize_email(x) for x in addresses if x) if a}
    return found, {d for a in found for d in suffixes(domain_of(a))}


@dataclass(frozen=True)
class Side:
    client_id: int
    contact_id: int | None
    primary: bool


@dataclass(frozen=True)
class Party:
    theirs: tuple[Side, ...]  # the clients this address is one of the people of
    ours: bool = False

    @property
    def known(self) -> bool:
        return bool(self.theirs) or self.ours


NOBODY = Party(())


@dataclass(frozen=True)
class Touch:
    client_id: int
    direction: str  # 'in' (from them) or 'out' (from us to them)
    contact_id: int | None  # the client's person it was with, when their address is a contact's
    primary: bool = False  # that person is the client's primary contact (the advocate)


@dataclass(frozen=True)
class Verdict:
    """What a message makes: touches (for the message `original`: itself, or what one of ours forwarded), or the
    reason it makes none."""

    original: ParsedMail
    touches: tuple[Touch, ...] = ()
    skipped: str | None = None


def original_of(mail: ParsedMail, directory: Directory) -> ParsedMail:
    """The message that counts: the original, when one of ours forwarded it to the key's address alone (its
    sender, recipients and date, never the forwarder's); else the message itself."""
    for _ in range(FORWARD_DEPTH):
        if mail.forwarded is None or not _forwarded_to_us(directory.of(mail.sender),
                                                          [directory.of(r) for r in mail.recipients], directory):
            break
        mail = mail.forwarded
    return mail


def decide(mail: ParsedMail, directory: Directory) -> Verdict:
    """The touches an email makes, or why it makes none (an invitation is its meetings: bot/capture/mail/meetings)."""
    mail = original_of(mail, directory)
    sender = directory.of(mail.sender)
    recipients = [directory.of(r) for r in mail.recipients]
    if mail.automated:
        return Verdict(mail, skipped=AUTOMATED)
    if sender.theirs:
        return Verdict(mail, tuple(Touch(s.client_id, "in", s.contact_id, s.primary)
                                    for s in _one_per_client(sender.theirs)))
    theirs = _one_per_client([s for r in recipients for s in r.theirs])
    if sender.ours:
        if theirs:
            return Verdict(mail, tuple(Touch(s.client_id, "out", s.contact_id, s.primary) for s in theirs))
        return Verdict(mail, skipped=INTERNAL if all(r.ours for r in recipients) else UNMATCHED)
    if not theirs:
        return Verdict(mail, skipped=UNMATCHED)
    return Verdict(mail, skipped=THIRD_PARTY if directory.ours else OURS_UNSET)


def _forwarded_to_us(sender: Party, recipients: Sequence[Party], directory: Directory) -> bool:
    """One of ours forwarded it to the key's address alone: no recipient is anyone we know (the capture address
    is nobody's). Until our own domains are set, whoever knows the key's address is taken to be one of ours."""
    if sender.theirs or any(r.known for r in recipients):
        return False
    return sender.ours or not directory.ours


def _one_per_client(sides: Iterable[Side]) -> list[Side]:
    """Each client once, with the person it is with: its primary contact if they are among these, else the first
    contact, else nobody in particular (a domain match)."""
    chosen: dict[int, Side] = {}
    for side in sides:
        held = chosen.get(side.client_id)
        if held is None or (held.contact_id is None and side.contact_id is not None) or \
                (side.primary and not held.primary):
            chosen[side.client_id] = side
    return list(chosen.values())


def meeting_clients(meeting: Meeting, directory: Directory) -> list[Side]:
    """The clients among an invitation's organiser and attendees, each once with the person it is with."""
    return _one_per_client(s for a in (meeting.organizer, *meeting.attendees) for s in directory.of(a).theirs)


def organised_by_us(meeting: Meeting, directory: Directory) -> bool:
    return directory.of(meeting.organizer).ours
