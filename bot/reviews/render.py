"""A review as Slack shows it: six sections in a fixed order, zeros shown, 'What went wrong' always there. One
rendering for the team (the command, the owner's Open button) and one worded for the client (sharing).

The client's version is about the work (PRODUCT.md §4.12): contact, commitments, goals with their stated odds and
our confidence, what went wrong on our side and what is next. Our reading of the relationship stays ours to act on:
no health label (Deep, Steady, Shallow, At risk), no warning signs, no "at risk" — a goal whose confidence fell
gives the numbers instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.reviews.figures import wrong_count
from bot.slack import blocks as b

SECTIONS = ("Contact", "Commitments", "Goals", "Health", "What went wrong", "Next")
CLIENT_SECTIONS = tuple(s for s in SECTIONS if s != "Health")


def _title(figures: dict[str, Any]) -> str:
    month = datetime.strptime(figures["month"], "%Y-%m").strftime("%B %Y")
    return f"{month}, so far" if figures["so_far"] else month


def _duration(minutes: int | None) -> str:
    if minutes is None:
        return "no answers to time"
    if minutes < 60:
        return _plural(minutes, "business minute")
    hours = f"{minutes / 60:.1f}".removesuffix(".0")
    return f"{hours} business hour{'s' if hours != '1' else ''}"


def _day(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%a %d %b %Y") if iso else "—"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _confidences(item: dict[str, Any]) -> list[int]:
    """A goal's answers to show: the one before the month (frozen months from before it was kept have none), then
    the month's."""
    before = item.get("before")
    return ([before] if before is not None else []) + list(item["trend"])


def _client_goal(item: dict[str, Any]) -> str:
    """A goal as the client reads it: what we stated and how confident we are, in numbers, never our verdict."""
    answers = _confidences(item)
    if len(answers) >= 2 and answers[-1] != answers[-2]:
        ours = "our confidence " + " → ".join(str(v) for v in answers[-2:])
    elif item["confidence"] is not None:
        ours = f"our confidence {item['confidence']}/10"
    else:
        ours = "our confidence not yet stated"
    closed = f", {item['closed']}" if item["closed"] else ""
    return f"{item['what']} (by {_day(item['due'])}): stated odds {item['odds']}%, {ours}{closed}"


def _client_goal_wrong(item: dict[str, Any]) -> str:
    """A goal of ours in trouble, for the client: the numbers that say so."""
    answers = _confidences(item)
    fell = [v for v in answers if v > answers[-1]] if answers else []
    if fell:
        return f"Our confidence in {item['what']} fell from {max(fell)} to {answers[-1]} (of 10)"
    stated = f"is {item['confidence']} of 10" if item["confidence"] is not None else "is low"
    return f"Our confidence in {item['what']} {stated}"


def section_lines(figures: dict[str, Any], *, for_client: bool = False) -> list[tuple[str, list[str]]]:
    """(section title, lines) in the fixed order: the one source of every rendering (blocks, text, tests). The
    client's version has no Health section and says nothing of our labels or warning signs."""
    c, k, g, h, w, n = (figures[key] for key in ("contact", "commitments", "goals", "health", "wrong", "next"))
    them = "you" if for_client else "them"
    contact = [
        f"Touches from {them}: {c['in']} (last month {c['in_last']}, 3-month average {c['in_avg3']:g})",
        f"Touches from us: {c['out']} (last month {c['out_last']}, 3-month average {c['out_avg3']:g})",
        f"Median time we took to answer {'your' if for_client else 'their'} messages in linked channels: "
        f"{_duration(c['answer_median_minutes'])} ({_plural(c['answered'], 'answer')})",
        f"Questions left unanswered: {c['unanswered']}",
    ]
    commitments = [
        f"Promises due: {k['kept_on_time']} kept on time, {k['kept_late']} kept late, {k['missed']} missed",
        f"Issues: {k['issues_opened']} opened, {k['issues_resolved']} resolved, "
        f"{k['issues_open_over_7d']} open longer than 7 days",
        f"Status updates: {k['updates_owed']} owed, {k['updates_given']} given",
    ]
    goals = [f"Met this month: {g['met']} · missed: {g['missed']}" +
             ("" if for_client else f" · at risk: {g['at_risk']}")]
    for item in g["items"]:
        if for_client:
            goals.append(_client_goal(item))
            continue
        confidence = f"{item['confidence']}/10" if item["confidence"] is not None else "not asked yet"
        trend = " → ".join(str(v) for v in item["trend"]) if item["trend"] else "no answers this month"
        state = f", {item['closed']}" if item["closed"] else ", at risk" if item["at_risk"] else ""
        goals.append(f"{item['what']} (by {_day(item['due'])}): stated odds {item['odds']}%, confidence {confidence}, "
                     f"{item['direction']} ({trend}){state}")
    if len(goals) == 1:
        goals.append("No goals agreed yet.")
    if g.get("calibration") and not for_client:
        goals.append(str(g["calibration"]))
    labels = " → ".join(m["label"] or "—" for m in h["months"])
    health = [f"This month: {h['label'] or '—'}", f"Six months: {labels}"]
    health += [f"{'✓' if s['now'] else '✗'} {s['signal']} (last month: "
               f"{'—' if s['last'] is None else '✓' if s['last'] else '✗'})" for s in h["signals"]]
    wrong: list[str] = []
    wrong += [f"Promise kept late: {p['what']} (due {_day(p['due'])}, kept {_day(p['kept'])})" for p in w["late"]]
    wrong += [f"Promise missed: {p['what']} (due {_day(p['due'])})" for p in w["missed"]]
    wrong += [] if for_client else [f"Warning sign: {s['kind']} ({_day(s['at'])})" for s in w["signs"]]
    wrong += [f"Question left unanswered: asked {_day(q['at'])}" for q in w["unanswered"]]
    if for_client:
        wrong += [_client_goal_wrong(item) for item in g["items"] if item["at_risk"]]
    else:
        wrong += [f"Goal at risk: {what}" for what in w["goals_at_risk"]]
    if not wrong:  # only the client's wording leaves out our warning signs
        wrong = ["nothing"] if wrong_count(figures) == 0 else ["No missed promises or unanswered questions."]
    nxt = [f"Promise: {p['what']} (due {_day(p['due'])})" for p in n["promises"]]
    nxt += [f"Open issue: {i['what']}" + (f" (estimate {_day(i['eta'])})" if i["eta"] else "") for i in n["issues"]]
    nxt.append(f"Next check-in: {_day(n['checkin'])}" if n["checkin"] else "Next check-in: none set")
    if not for_client:  # months frozen before closeouts were counted have none
        nxt += [_closeout_line(c) for c in n.get("closeouts", [])]
    if for_client:
        return list(zip(CLIENT_SECTIONS, (contact, commitments, goals, wrong, nxt), strict=True))
    return list(zip(SECTIONS, (contact, commitments, goals, health, wrong, nxt), strict=True))


def review_blocks(figures: dict[str, Any], *, frozen_at: datetime | None = None) -> b.Reply:
    """The team's view: every figure, in order; user text (names, what was promised) only in rich text."""
    head = f"Monthly review · {figures['client']} · {_title(figures)}"
    blocks: list[b.Block] = [b.header(head)]
    for title, lines in section_lines(figures):
        blocks.append(b.rich(b.line(b.text(title, bold=True)), b.bullets([b.line(line) for line in lines])))
    note = "Counted up to now: the month is not over." if figures["so_far"] else \
        f"Frozen when the month ended ({frozen_at:%d %b %Y})." if frozen_at else "Worked out from today's data."
    blocks.append(b.context(note))
    return b.reply(f"{head}: {_plural(wrong_count(figures), 'thing')} went wrong", *blocks)


def client_blocks(figures: dict[str, Any]) -> tuple[str, list[b.Block]]:
    """Worded for the client, for their shared channel: the same sections, no internal signals."""
    head = f"Our month together · {_title(figures)}"
    blocks: list[b.Block] = [b.header(head), b.paragraph(
        f"Here is how this month went between {figures['client']} and us: the same figures every month, "
        "including what we did not get right.")]
    for title, lines in section_lines(figures, for_client=True):
        blocks.append(b.rich(b.line(b.text(title, bold=True)), b.bullets([b.line(line) for line in lines])))
    return b.fallback(f"{head}: {figures['client']}"), blocks


def _closeout_line(closeout: dict[str, Any]) -> str:
    state = (f"closed out {_day(closeout['done'])}" if closeout["done"] else
             f"{len(closeout['ticked'])} of {len(closeout['ticked']) + len(closeout['left'])} ticked")
    left = f"; left: {', '.join(closeout['left'])}" if closeout["left"] else ""
    return f"Project closeout opened {_day(closeout['opened'])}: {state}{left}"
