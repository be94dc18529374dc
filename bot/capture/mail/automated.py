"""Mail no person wrote: auto-replies, bulk and list mail, bounces (PRODUCT.md §4.15 "Not a touch").

The reason is a short fixed word so that `/client mail` and App Home can count skipped mail by it.
"""

from __future__ import annotations

from bot.capture.mail.headers import Headers

AUTO_REPLY = "auto-reply"  # Auto-Submitted: auto-replied, X-Autoreply (RFC 3834)
AUTO_GENERATED = "auto-generated"  # any other Auto-Submitted value but "no"
BULK = "bulk"  # Precedence: bulk or junk
LIST = "list"  # Precedence: list, List-Id, List-Unsubscribe
BOUNCE = "bounce"  # a delivery report, or mail from a mailer daemon
REASONS = (AUTO_REPLY, AUTO_GENERATED, BULK, LIST, BOUNCE)

_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def automated_reason(headers: Headers, *, sender: str | None, content_type: str | None = None) -> str | None:
    """Why this message is not a person's, or None when nothing says it is automated. `sender` is From's
    address as already read, `content_type` the message's own (a bounce is a multipart/report)."""
    submitted = (headers.first("auto-submitted") or "").split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return AUTO_REPLY if submitted == "auto-replied" else AUTO_GENERATED
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return AUTO_REPLY
    precedence = (headers.first("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk"):
        return BULK
    if precedence == "auto_reply":
        return AUTO_REPLY
    if precedence == "list" or "list-id" in headers or "list-unsubscribe" in headers:
        return LIST
    if (content_type or "").lower() == "multipart/report":
        return BOUNCE
    if sender is not None and sender.split("@", 1)[0] in _DAEMONS:
        return BOUNCE
    return None
