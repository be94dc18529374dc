"""Email addresses and domains as people type them (in Slack, in CSV), and the free-mail domains no client is ever
matched by (PRODUCT.md §4.15). Pure: no database, no Slack."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

# Slack turns typed addresses and domains into links: `<mailto:jane@acme.com|jane@acme.com>`,
# `<http://acme.com|acme.com>`; a CSV cell writes `Jane Doe <jane@acme.com>`.
_LINK = re.compile(r"<(?:mailto:|https?://)?([^|<>]*)(?:\|([^<>]*))?>")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")


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
    """An address as Rapport stores and compares it: lowercased, its domain in IDNA form; None when it is not one."""
    text = unwrap(raw)
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL.fullmatch(local.lower()) or local.startswith(".") or ".." in local:
        return None
    found = normalize_domain(domain)
    return f"{local.lower()}@{found}" if found else None


def looks_like_email(word: str) -> bool:
    return "@" in word and not word.startswith(("<@", "@")) and normalize_email(word) is not None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def suffixes(domain: str) -> list[str]:
    """`eu.acme.com` -> [`eu.acme.com`, `acme.com`]: the domain and each parent that still has a dot, most
    specific first (a client's domain covers its subdomains)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


@cache
def free_mail_domains() -> frozenset[str]:
    """The shipped list (free_mail_domains.txt names its source)."""
    text = files("bot").joinpath("free_mail_domains.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_free_mail(domain: str) -> bool:
    """Whether anyone can have an address at this domain (gmail.com, outlook.com and the like, or one under them)."""
    known = free_mail_domains()
    return any(part in known for part in suffixes(domain))
