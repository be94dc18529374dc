"""The first-workday message (PRODUCT.md §4.12): one per owner, listing their clients' reviews of the month just
frozen, each with *Open* and *Share with the client*. Planned by the sweep like the weekly digest, outside the focus
budget."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
                    "every month, what went wrong included. Open one to read it; share it with the client when it "
                    "is right."),
    ]
    for client in facts["clients"]:
        value = f"{client['id']}:{facts['month']}"
        blocks.append(b.rich(b.line(b.text(client["name"], bold=True))))
        blocks.append(b.actions(b.button("Open", "review_open", value),
                                b.button("Share with the client", "review_share", value, style="primary"),
                                block_id=f"review-{client['id']}"))
    if count > len(facts["clients"]):
        blocks.append(b.context(f"…and {count - len(facts['clients'])} more: `/client review <client> "
                                f"{facts['month']}`"))
    return b.fallback(f"Your monthly reviews for {title}: {count} clients"), blocks
