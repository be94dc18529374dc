"""`/client me [cards <N>] [at <HH:MM>] [pause until <date> | resume]`: each person's own pace (PRODUCT.md §4.8).

Everything asked for is checked before anything is written: a command either does all it says or nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.commands.usage import USAGE
from bot.nudges.focus import day_of
from bot.nudges.pace import Change, PaceError, apply, check_hour, describe, pace_of, read_cards, read_hour, read_pause
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.workspaces import tz_of
from storage.focus import focus_days_on
from storage.models import Workspace
from storage.paces import pace_of as pace_row

KEYWORDS = ("cards", "at", "pause", "resume")


def _split(args: str) -> dict[str, str]:
    """'cards 3 at 10:30 pause until next monday' -> {'cards': '3', 'at': '10:30', 'pause': 'next monday'}."""
    words = args.split()
    found: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index].lower()
        if word not in KEYWORDS:
            raise CommandError(f"I don't know {words[index]!r} here.", USAGE["me"])
        if word in found or (word in ("pause", "resume") and ("pause" in found or "resume" in found)):
            raise CommandError("Say each of cards, at, and pause or resume at most once.", USAGE["me"])
        index += 1
        if word == "resume":
            found[word] = ""
            continue
        if word == "pause":
            if index >= len(words) or words[index].lower() != "until":
                raise CommandError("Say until when: /client me pause until next monday (or 2w, or a date).",
                                   USAGE["me"])
            index += 1
        value = []
        while index < len(words) and words[index].lower() not in KEYWORDS:
            value.append(words[index])
            index += 1
        if not value:
            raise CommandError(f"{word} needs a value.", USAGE["me"])
        found[word] = " ".join(value)
    return found


def cmd_me(session: Session, ctx: Context, args: str) -> b.Reply:
    settings = ctx.settings
    workspace = session.get(Workspace, ctx.workspace_id)
    workspace_tz = tz_of(workspace, settings.tz) if workspace is not None else settings.tz
    asked = _split(args)
    change = Change()
    try:
        if "cards" in asked:
            change = Change(cards=read_cards(asked["cards"], settings.daily_focus))
        if "at" in asked:
            at = read_hour(asked["at"])
            check_hour(at, ctx.user_tz(), workspace_tz, settings.business_hours, ctx.now)
            change = Change(change.cards, at)
        if "pause" in asked:
            change = Change(change.cards, change.at, read_pause(asked["pause"], ctx.now, ctx.user_tz()))
        if "resume" in asked:
            change = Change(change.cards, change.at, resume=True)
    except PaceError as exc:
        raise CommandError(str(exc), USAGE["me"]) from None
    row = pace_row(session, ctx.workspace_id, ctx.user_id)
    was_paused = row is not None and pace_of(row, settings.daily_focus, workspace_tz).paused(ctx.now)
    if not change.empty:
        row = apply(session, ctx.workspace_id, ctx.user_id, change, ctx.user_tz(), ctx.now)
    pace = pace_of(row, settings.daily_focus, workspace_tz)
    said = describe(pace, settings.business_hours, workspace_tz, ctx.now)
    lines = [b.line(b.text("Your pace: ", bold=True), said)]
    if change.resume:
        lines.append(b.line("Resumed: your cards come again from the next sweep in business hours." if was_paused
                            else "You weren't paused; your cards come as usual."))
    if pace.paused(ctx.now):
        lines.append(b.line("While you're paused, what comes due is not dropped: it waits, ranked, in App Home "
                            "(Needs attention), and your first day back brings the most important first."))
    shown, _ = focus_days_on(session, ctx.workspace_id, day_of(ctx.now, workspace_tz),
                             ctx.user_id).get(ctx.user_id, (0, 0))
    if shown and change.cards is not None and shown >= pace.cards:
        lines.append(b.line(f"You've had {shown} today already, so no more today; from the next workday, "
                            f"{pace.cards}."))
    blocks = [b.rich(*lines)]
    if change.empty:
        blocks.append(b.context("Change it: `/client me cards 3` · `/client me at 10:30` · "
                                "`/client me pause until next monday` · `/client me resume`, or *Change pace* "
                                "in App Home."))
    head = "Your pace" if change.empty else "Saved"
    return b.reply(f"{head}: {said}", *blocks)

