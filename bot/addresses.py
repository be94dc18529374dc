"""Email addresses and domains as people type them (in Slack, in CSV), and the free-mail domains no client is ever
matched by (PRODUCT.md §4.15). Pure: no database, no Slack."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib.resources import files

from publicsuffixlist import PublicSuffixList

# Slack turns typed addresses and domains into links: `<mailto:jane@acme.com|jane@acme.com>`,
# `<http://acme.com|acme.com>`; a CSV cell writes `Jane Doe <jane@acme.com>`.
_LINK = re.compile(r"<(?:mailto:|https?://)?([^|<>]*)(?:\|([^<>]*))?>")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# RFC 5322's atext, and (RFC 6531, SMTPUTF8) any character beyond ASCII that is not a space, a control character or
# a lone surrogate (raw bytes that were not UTF-8): `ünal@bücher.example` is an address.
_LOCAL = re.compile(r"(?:[a-z0-9!#$%&'*+/=?^_`{|}~.-]|[^\x00-\x7f\x80-\x9f\s\ud800-\udfff])+")
MAX_LOCAL_OCTETS = 64  # RFC 5321 §4.5.3.1.1


def unwrap(word: str) -> str:
    """The address or domain a person typed, out of Slack's link markup or angle brackets."""
    word = word.strip().replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    match = _LINK.fullmatch(word)
    if match:
        word = match.group(2) or match.group(1)
    return word.strip().removeprefix("mailto:")


def normalize_domain(raw: str) -> str | None:
    """`Acme.COM`, `@acme.com`, `acme.com.`, `bücher.de` (as `xn--bcher-kva.de`), or Slack's link of one; None when it
    is not a domain names can be under (it needs a dot, and labels of letters, digits and hyphens)."""
    text = unwrap(raw).lower().removeprefix("@").rstrip(".")
    if text.startswith(("http://", "https://")):
        text = text.split("://", 1)[1].split("/", 1)[0]
    if not text or len(text) > 253 or any(c.isspace() for c in text):
        return None
    try:
        ascii_form = text.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    labels = ascii_form.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None
    return ascii_form


def normalize_email(raw: str) -> str | None:
    """An address as Rapport stores and compares it: lowercased (a local part beyond ASCII in NFC, RFC 6532 §3.1),
    its domain in IDNA form; None when it is not one."""
    text = unwrap(raw)
    local, at, domain = text.rpartition("@")
    local = unicodedata.normalize("NFC", local).lower()
    if not at or not _LOCAL.fullmatch(local) or len(local.encode("utf-8", "surrogatepass")) > MAX_LOCAL_OCTETS \
            or local.startswith(".") or ".." in local:
        return None
    found = normalize_domain(domain)
    return f"{local}@{found}" if found else None


def shown_domain(domain: str) -> str:
    """A stored domain (IDNA, `xn--bcher-kva.de`) as a person reads it (`bücher.de`); kept as stored when a label
    does not decode."""
    try:
        return domain.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return domain


def shown_email(address: str) -> str:
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{shown_domain(domain)}"


def looks_like_email(word: str) -> bool:
    return "@" in word and not word.startswith(("<@", "@")) and normalize_email(word) is not None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


@cache
def _public_suffixes() -> PublicSuffixList:
    """The Public Suffix List as the package ships it (both its ICANN and its private sections): read from the
    installed copy, never fetched."""
    return PublicSuffixList()


def is_public_suffix(domain: str) -> bool:
    """Whether anyone can register a name under this domain (`co.uk`, `com`, `github.io`, `*.ck`): never one
    organisation's, so it can be neither a client's domain nor one of ours."""
    return bool(_public_suffixes().is_public(domain))


def suffixes(domain: str) -> list[str]:
    """`eu.acme.co.uk` -> [`eu.acme.co.uk`, `acme.co.uk`]: the domain and each parent down to the registrable one,
    most specific first (a client's domain covers its subdomains; a public suffix such as `co.uk` is nobody's)."""
    registrable = _public_suffixes().privatesuffix(domain)
    if registrable is None:
        return []
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - registrable.count("."))]


@cache
def free_mail_domains() -> frozenset[str]:
    """The shipped list (free_mail_domains.txt names its source)."""
    text = files("bot").joinpath("free_mail_domains.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_free_mail(domain: str) -> bool:
    """Whether anyone can have an address at this domain (gmail.com, outlook.com and the like, or one under them)."""
    known = free_mail_domains()
    labels = domain.split(".")
    return any(".".join(labels[i:]) in known for i in range(len(labels) - 1))
