"""App Home's line on capture from email (PRODUCT.md §4.15): what was captured and skipped this week, by reason, so
a person can see why a message did not count. One block: App Home has 100 for everything."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.capture.mail.summary import last_week
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.workspaces import tz_of
from storage.mail import key_of
from storage.models import Workspace


def mail_block(session: Session, ctx: Context, settings: Settings) -> list[b.Block]:
    """Nothing for a workspace that has not set up capture (no inbound key yet)."""
    workspace = session.get(Workspace, ctx.workspace_id)
    if workspace is None or key_of(session, ctx.workspace_id) is None:
        return []
    week = last_week(session, ctx.workspace_id, ctx.now, tz_of(workspace, settings.tz))
    return [b.context(f"Email and calendars, last 7 days: {week.line()} /client mail has the details.")]
