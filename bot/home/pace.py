"""App Home's *Change pace* (PRODUCT.md §4.8): the same pace `/client me` sets — cards a workday, the hour they
come, a pause until a day — in a modal, checked the same way, mistakes shown on their field, nothing saved until it
is all right. *Resume cards* ends a pause."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.nudges.pace import Change, PaceError, apply, check_hour, pace_of, read_hour
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.workspaces import tz_of
from storage.models import Workspace
from storage.paces import pace_of as pace_row

CALLBACK = "pace_form"
PAUSE_MAX_DAYS = 365


def _workspace_tz(session: Session, ctx: Context, settings: Settings) -> ZoneInfo:
    workspace = session.get(Workspace, ctx.workspace_id)
    return tz_of(workspace, settings.tz) if workspace is not None else settings.tz


def pace_modal(session: Session, ctx: Context, settings: Settings) -> dict[str, Any]:
    workspace_tz = _workspace_tz(session, ctx, settings)
    pace = pace_of(pace_row(session, ctx.workspace_id, ctx.user_id), settings.daily_focus, workspace_tz)
    cap, hours = settings.daily_focus, settings.business_hours
    numbers = [{"text": {"type": "plain_text", "text": str(n)}, "value": str(n)} for n in range(1, cap + 1)]
    cards = {"type": "static_select", "action_id": "cards", "options": numbers,
             "initial_option": numbers[pace.cards - 1]}
    at: dict[str, Any] = {"type": "timepicker", "action_id": "at"}
    if pace.at is not None:
        at["initial_time"] = f"{pace.at:%H:%M}"
    pause: dict[str, Any] = {"type": "datepicker", "action_id": "pause"}
    if pace.paused(ctx.now) and pace.paused_until is not None:
        pause["initial_date"] = pace.paused_until.isoformat()
    you = ctx.user_tz().key
    return {
        "type": "modal", "callback_id": CALLBACK,
        "title": {"type": "plain_text", "text": "Your pace"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            b.paragraph("How many clients Rapport brings up for you a workday, and when. Nothing due is dropped: what "
                        "waits stays ranked in Needs attention."),
            {"type": "input", "block_id": "cards", "label": {"type": "plain_text", "text": "Cards a workday"},
             "element": cards,
             "hint": {"type": "plain_text", "text": f"At most {cap}, the workspace's number."}},
            {"type": "input", "block_id": "at", "optional": True, "element": at,
             "label": {"type": "plain_text", "text": "Not before (your time)"},
             "hint": {"type": "plain_text", "text": f"Your timezone, {you}. Inside business hours: "
                                                    f"{hours.start:%H:%M}–{hours.end:%H:%M} {workspace_tz.key}."}},
            {"type": "input", "block_id": "pause", "optional": True, "element": pause,
             "label": {"type": "plain_text", "text": "Pause until"},
             "hint": {"type": "plain_text", "text": "No cards before this day; they start again that morning. Leave "
                                                    "it empty for no pause."}},
        ],
    }


def _picked(values: dict[str, Any], block: str) -> Any:
    state = values.get(block, {}).get(block, {}) if isinstance(values.get(block), dict) else {}
    if not isinstance(state, dict):
        return None
    option = state.get("selected_option")
    if isinstance(option, dict):
        return option.get("value")
    return state.get("selected_time") or state.get("selected_date")


def save_pace(session: Session, ctx: Context, settings: Settings, values: dict[str, Any]) -> dict[str, str]:
    """The form's values, checked as `/client me` checks them: errors by field (nothing saved), or none."""
    workspace_tz = _workspace_tz(session, ctx, settings)
    errors: dict[str, str] = {}
    cards = _picked(values, "cards")
    count = int(cards) if isinstance(cards, str) and cards.isdigit() else None
    if count is None or not 1 <= count <= settings.daily_focus:
        errors["cards"] = f"Choose from 1 to {settings.daily_focus}."
    at = None
    raw_at = _picked(values, "at")
    if isinstance(raw_at, str) and raw_at:
        try:
            at = read_hour(raw_at)
            check_hour(at, ctx.user_tz(), workspace_tz, settings.business_hours, ctx.now)
        except PaceError as exc:
            errors["at"] = b.clip(str(exc), 150)
    until = None
    raw_pause = _picked(values, "pause")
    if isinstance(raw_pause, str) and raw_pause:
        today = ctx.now.astimezone(ctx.user_tz()).date()
        try:
            until = date.fromisoformat(raw_pause)
        except ValueError:
            errors["pause"] = "Pick a day."
        else:
            if until <= today:
                errors["pause"] = "Pick a day after today: your cards start again that morning."
            elif (until - today).days > PAUSE_MAX_DAYS:
                errors["pause"] = "Pick a day within the next year."
    if errors:
        return errors
    row = apply(session, ctx.workspace_id, ctx.user_id, Change(cards=count, at=at, pause_until=until,
                                                               resume=until is None), ctx.user_tz(), ctx.now)
    if at is None:
        row.at = None  # the field left empty: from the start of business hours again
    return {}


def resume_pace(session: Session, ctx: Context) -> None:
    if pace_row(session, ctx.workspace_id, ctx.user_id) is not None:
        apply(session, ctx.workspace_id, ctx.user_id, Change(resume=True), ctx.user_tz(), ctx.now)
