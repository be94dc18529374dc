"""The first-workday message (PRODUCT.md §4.12): one per owner, listing their clients' reviews of the month just
frozen, each with *View review* and *Share with the client* (which asks first: what it posts stays in the client's
channel). Planned by the sweep like the weekly digest, outside the focus
budget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.nudges.said import plural
from bot.slack import blocks as b

LISTED = 20  # clients with buttons in one message; the rest are a count and the command to open them


def owner_facts(owner: str, key: str, clients: list[tuple[int, str]]) -> dict[str, Any]:
    return {"kind": "reviews", "target": owner, "month": key, "count": len(clients),
            "clients": [{"id": client_id, "name": name} for client_id, name in clients[:LISTED]]}


def owner_message(facts: dict[str, Any]) -> tuple[str, list[b.Block]]:
    title = datetime.strptime(facts["month"], "%Y-%m").strftime("%B %Y")
    count = facts["count"]
    blocks: list[b.Block] = [
        b.header(f"Your monthly reviews · {title}"),
        b.paragraph(f"{count} client review{'s are' if count != 1 else ' is'} ready for {title}: the same figures "
                    "every month, what went wrong included. View one to read it; share it with the client when it "
                    "is right."),
    ]
    for client in facts["clients"]:
        value = f"{client['id']}:{facts['month']}"
        blocks.append(b.rich(b.line(b.text(client["name"], bold=True))))
        blocks.append(b.actions(b.button("View review", "review_open", value),
                                b.button("Share with the client", "review_share", value, style="primary",
                                         confirm=share_confirm(client["name"], title)),
                                block_id=f"review-{client['id']}"))
    if count > len(facts["clients"]):
        blocks.append(b.context(f"…and {count - len(facts['clients'])} more: `/client review <client> "
                                f"{facts['month']}`"))
    said = (f"Your review of {title} is ready for 1 client. View it, then share it with the client." if count == 1
            else f"Your reviews of {title} are ready for {plural(count, 'client')}. View each, then share it with its "
            "client.")
    return b.fallback(said), blocks


def share_confirm(name: str, title: str) -> dict[str, Any]:
    """Sharing posts into a channel the client reads, for good (issue 34: what can't be taken back asks first)."""
    return b.confirm_dialog("Share with the client?", f"{name}'s review of {title} will be posted in the channel you "
                            "share with them, for them to read. Rapport can't take it back.", "Share",
                            style="primary")
