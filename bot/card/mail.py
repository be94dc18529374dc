"""The client card's lines from captured mail (PRODUCT.md §4.15): the last email each way and the next meeting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.slack import blocks as b
from storage.mail import last_emails, upcoming_meetings
from storage.models import Client


def mail_lines(session: Session, client: Client, now: datetime) -> list[b.Block]:
    lines: list[b.Block] = []
    theirs, ours = last_emails(session, client.id)
    if theirs or ours:
        parts: list[b.Element | str] = ["Last email from them: ", b.date(theirs) if theirs else "none",
                                        " · to them: ", b.date(ours) if ours else "none"]
        lines.append(b.line(*parts))
    upcoming = [m for m in upcoming_meetings(session, client.id) if m.next_touch_at and m.next_touch_at >= now]
    if upcoming:
        at = upcoming[0].next_touch_at
        assert at is not None
        shown = "{date_short_pretty}" if upcoming[0].all_day else "{date_short_pretty} at {time}"
        lines.append(b.line(b.emoji("calendar"), " Next meeting: ", b.date(at, shown)))
    return lines
