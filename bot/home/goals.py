"""App Home's *Goals* (PRODUCT.md §4.11): the person's open goals with their latest confidence, soonest due first,
and how their stated odds compare with what happened once they have closed 5 goals."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.card.goals import describe_goal
from bot.goals.calibration import MIN_CLOSED, calibrate, line_text, verdict
from bot.slack import blocks as b
from bot.slack.caller import Context
from storage.goals import closed_goal_outcomes, owner_goals

GOALS_SHOWN = 8


def goals_section(session: Session, ctx: Context) -> list[b.Block]:
    """One block of lines (App Home has 100 blocks for everything), and a divider; nothing for someone who has
    never agreed a goal."""
    open_ones = owner_goals(session, ctx.workspace_id, ctx.user_id)
    closed = closed_goal_outcomes(session, ctx.workspace_id, ctx.user_id)
    if not open_ones and not closed:
        return []
    today = ctx.now.astimezone(ctx.user_tz()).date()
    at_risk = sum(1 for g, _ in open_ones if g.at_risk_since is not None)
    head = f" · {len(open_ones)} open" + (f", {at_risk} at risk" if at_risk else "") + ", soonest due first."
    sections: list[b.Block] = [b.line(b.text("Goals", bold=True), head)]
    if open_ones:
        sections.append(b.bullets([b.line(b.text(client.name, bold=True), " · ", *describe_goal(goal, today))
                                   for goal, client in open_ones[:GOALS_SHOWN]]))
    if len(open_ones) > GOALS_SHOWN:
        sections.append(b.line(f"Showing {GOALS_SHOWN} of {len(open_ones)}; each client's card lists all of theirs."))
    lines = calibrate(closed)
    if lines is None:
        sections.append(b.line(f"Calibration: after {MIN_CLOSED} closed goals, your stated odds are compared with "
                               f"what happened ({len(closed)} so far)."))
    else:
        said = "; ".join(line_text(line) + (f" ({word})" if (word := verdict(line)) else "") for line in lines)
        sections.append(b.line(b.text("Calibration", bold=True), f" ({len(closed)} closed goals): {said}."))
    return [b.rich(*sections), b.divider()]
