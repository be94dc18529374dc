"""Email addresses as Rapport compares them: one canonical spelling per mailbox (PRODUCT.md §4.15).

An address is lowercased, its domain written in Unicode (an IDNA `xn--` label is decoded, so `bücher.example`
and `xn--bcher-kva.example` are one domain), and anything that is not a plausible `local@domain` is dropped.
Recording matches contacts and client domains with the same two functions, so both sides agree.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from email.header import decode_header, make_header
from email.utils import getaddresses

# RFC 5321: a path holds at most 256 octets, so a longer "address" is not one.
MAX_ADDRESS = 254
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f\ud800-\udfff]")  # lone surrogates: raw bytes, not text
_LABEL = re.compile(r"[\w-]+")  # letters of any script, digits, hyphen (and underscore, which some hosts use)
# The common spellings ("Name <a@b>, c@d") read without the parser; anything quoted or commented is parsed.
_NEEDS_PARSER = re.compile(r'["()\\:;]')
_SIMPLE = re.compile(r"[^<>,]*<([^<>\s,]*)>\s*|\s*([^<>\s,]*)\s*")  # no overlapping repeats: linear
# What separates the addresses of a free-text header block (a forwarded "From: Jane <jane@x.com>; …").
_TEXT_DELIMITERS = re.compile(r"[\s<>\[\]()\"',;:]+")


def normalize_domain(domain: str) -> str | None:
    """A domain in Rapport's spelling (lowercase, Unicode labels), or None when it is not a domain."""
    domain = domain.strip().strip(".").lower()
    if not domain or _SPACE_OR_CONTROL.search(domain) or "@" in domain or ".." in domain:
        return None
    labels = []
    for label in domain.split("."):
        if not label or len(label) > 63 or not _LABEL.fullmatch(label):
            return None
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):  # a broken IDNA label is kept as written
                label = label.encode("ascii").decode("idna").lower()
        labels.append(label)
    return ".".join(labels)


def normalize_address(address: str) -> str | None:
    """One mailbox in Rapport's spelling, or None when `address` is not a plausible `local@domain`."""
    address = address.strip().strip("<>").strip()
    if address[:7].lower() == "mailto:":
        address = address[7:]
    if not address or len(address) > MAX_ADDRESS or _SPACE_OR_CONTROL.search(address):
        return None
    local, at, domain = address.rpartition("@")
    if not at or not local or "@" in local.strip('"'):
        return None
    canonical_domain = normalize_domain(domain)
    if canonical_domain is None or "." not in canonical_domain:
        return None
    return f"{local.lower()}@{canonical_domain}"


def unique(addresses: Iterable[str | None]) -> tuple[str, ...]:
    """Addresses in first-seen order, each once, without the Nones."""
    return tuple(dict.fromkeys(a for a in addresses if a))


def addresses_in_headers(values: Iterable[str]) -> tuple[str, ...]:
    """Every address of some address-list header values (To, Cc…), normalized, each once.

    The standard library's structured header parser is quadratic in the number of addresses (20,000 take
    minutes), so the list is split by `getaddresses`, which is linear. A header whose addresses are themselves
    inside encoded words (`=?utf-8?b?…?=`, which no standard allows but some senders write) is decoded and
    read again.
    """
    found: list[str | None] = []
    for value in values:
        here = [normalize_address(address) for _name, address in _split(value)]
        if not any(here) and "=?" in value:
            here = [normalize_address(address) for _name, address in _split(_decoded(value))]
        found.extend(here)
    return unique(found)


def addresses_in_text(text: str) -> tuple[str, ...]:
    """Every address written in free text such as a forwarded header block's `To: Jane <jane@x.com>; …`."""
    return unique(normalize_address(token.strip(".")) for token in _TEXT_DELIMITERS.split(text) if "@" in token)


def address_of_uri(uri: str) -> str | None:
    """The address of a calendar user (`mailto:jane@x.com`), or None for any other kind of URI."""
    uri = uri.strip()
    if uri[:7].lower() == "mailto:":
        return normalize_address(uri[7:])
    if ":" in uri.split("@", 1)[0]:
        return None  # urn:uuid:…, tel:… — not an address
    return normalize_address(uri)


def _split(value: str) -> Iterator[tuple[str, str]]:
    if not _NEEDS_PARSER.search(value):
        simple = [_SIMPLE.fullmatch(item) for item in value.split(",")]
        if all(simple):
            yield from (("", match.group(1) or match.group(2)) for match in simple if match)
            return
    try:
        yield from getaddresses([value])
    except Exception:  # the standard library's parsers raise more than ValueError on hostile input
        return


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value
