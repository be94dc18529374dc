"""The answer to a click that came second (PRODUCT.md §5: clicks are serialised): who acted first, what they did,
and when. Every button that changes something answers a click it lost with this."""

from __future__ import annotations

from datetime import datetime

from bot.slack import blocks as b


def already_handled(action: str | None, user_id: str | None, at: datetime | None) -> b.Reply:
    what = action or "dealt with it"
    parts: list[b.Element | str] = ["Already handled by ", b.user(user_id) if user_id else "someone else",
                                    f": {what}"]
    if at is not None:
        parts += [" ", b.date(at, "{date_short_pretty} at {time}")]
    return b.reply(f"Already handled: {what}.", b.paragraph(*parts, ". Nothing more to do."))
