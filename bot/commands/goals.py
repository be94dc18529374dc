"""`/client goal …` (PRODUCT.md §4.11): agree a goal with its odds and barriers, say how confident you are now,
or close it met or missed.

    /client goal <client> <what> by <when> [odds 90|70|50|30] [: <barrier>; <barrier>; <barrier>]
    /client goal <client> [<what>] confidence <1-10> [: <note>]
    /client goal <client> [<what>] met|missed [: <note>]
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot import audit
from bot.card.commitments import day_element
from bot.card.goals import describe_goal
from bot.commands.common import clean_note, find, lock_found, locked_for_owner, split_note
from bot.commands.usage import USAGE
from bot.goals.ledger import (
    BARRIERS_MAX,
    CONFIDENCE,
    DEFAULT_ODDS,
    ODDS,
    agree,
    check,
    close_goal,
)
from bot.goals.risk import RISK_DROP, RISK_LEVEL
from bot.relationship.said import clean_text, matching
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.when import WhenError, parse_future_day
from storage.goals import open_goals
from storage.models import Client, Goal
from storage.names import name_key

_CONFIDENCE = re.compile(r"(?:(?P<words>.*?)\s+)?confidence(?:\s+(?P<value>\S+))?", re.I | re.S)
_CLOSING = re.compile(r"(?:(?P<words>.*?)\s+)?(?P<outcome>met|missed)", re.I | re.S)
_ODDS = re.compile(r"(?P<when>.*?)\s+odds(?:\s+(?P<odds>\S+))?", re.I | re.S)
_BY = re.compile(r"(?:^|\s+)by\s+", re.I)
ODDS_WORDS = "90, 70, 50 or 30"


def cmd_goal(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["goal"]
    head, raw_note = split_note(args)
    match = find(session, ctx, head, usage)
    client, rest = match.client, match.rest.strip()
    if not rest:
        return _listed(session, ctx, client, usage)
    if confidence := _CONFIDENCE.fullmatch(rest):
        return _confidence(session, ctx, client, confidence.group("words") or "", confidence.group("value"),
                           clean_note(raw_note, usage), usage)
    if closing := _CLOSING.fullmatch(rest):
        return _close(session, ctx, client, closing.group("words") or "", closing.group("outcome").lower(),
                      clean_note(raw_note, usage), usage)
    return _agree(session, ctx, client, rest, raw_note, usage)


def _example(client: Client) -> str:
    return f"/client goal {client.name} renew with 20 more seats by 2027-03-31 odds 70 : budget freeze; new CFO"


def _agree(session: Session, ctx: Context, client: Client, rest: str, raw_barriers: str | None,
           usage: str) -> b.Reply:
    parts = _BY.split(rest)
    if len(parts) < 2:
        raise CommandError(f"Say by when, like {_example(client)}.", usage)
    raw_what, raw_when = " by ".join(parts[:-1]), parts[-1]
    try:
        what = clean_text(raw_what)
    except ValueError as exc:
        raise CommandError(f"{exc}, like {_example(client)}." if str(exc) == "Say what" else f"{exc}.",
                           usage) from None
    odds = DEFAULT_ODDS
    if stated := _ODDS.fullmatch(raw_when):
        raw_when, odds = stated.group("when"), _odds(stated.group("odds"), usage)
    try:
        due_on = parse_future_day(raw_when, ctx.now, ctx.user_tz())
    except WhenError as exc:
        raise CommandError(str(exc).replace("a promise is", "a goal is"), usage) from None
    barriers = _barriers(raw_barriers, usage)
    # under the client's lock: the same goal agreed twice at once is one goal, the second told it is already open
    client = lock_found(session, ctx, client)
    if any(name_key(g.what) == name_key(what) for g in open_goals(session, client.id)):
        raise CommandError(f"{client.name} already has this goal open: {what}.", usage)
    goal = agree(session, client, what, due_on, odds, barriers, ctx.user_id, ctx.now)
    audit.record(session, ctx.workspace_id, ctx.user_id, "goal", ctx.now, client_id=client.id, detail=what)
    lines = [b.line(b.emoji("dart"), " Goal agreed with ", b.text(client.name, bold=True), ": ",
                    b.text(goal.what, italic=True), ", by ", day_element(due_on), f", odds {odds}%.")]
    if barriers:
        lines.append(b.line("Barriers named: ", b.text("; ".join(barriers)), "."))
    lines.append(b.line("Each week, on your first workday, Rapport asks how confident you are now (one click, 1–10); "
                        "after its date, whether it was met. Any time: ",
                        b.text(f"/client goal {client.name} confidence 7", code=True), "."))
    return b.reply(f"Goal agreed with {client.name}: {goal.what}.", b.rich(*lines))


def _odds(raw: str | None, usage: str) -> int:
    if raw is None:
        raise CommandError(f"Say the odds you give it: {ODDS_WORDS} (percent), like odds 70.", usage)
    digits = raw.rstrip("%")
    if not (digits.isascii() and digits.isdigit()) or int(digits) not in ODDS:
        raise CommandError(f"Odds are {ODDS_WORDS} (percent), not {raw!r}: say how likely you think it is, "
                           "honestly.", usage)
    return int(digits)


def _barriers(raw: str | None, usage: str) -> list[str]:
    if raw is None:
        return []
    named = [part for part in (p.strip() for p in raw.split(";")) if part]
    if len(named) > BARRIERS_MAX:
        raise CommandError(f"That is {len(named)} barriers; name at most {BARRIERS_MAX}, the ones that matter most, "
                           "separated by ';'.", usage)
    try:
        return [clean_text(part, "Say what the barrier is") for part in named]
    except ValueError as exc:
        raise CommandError(f"A barrier: {exc}.", usage) from None


def _pick(client: Client, open_ones: list[Goal], words: str, example: str, usage: str) -> Goal:
    if not open_ones:
        raise CommandError(f"{client.name} has no open goal. Agree one first, like {_example(client)}.", usage)
    found = matching(open_ones, words)
    if len(found) == 1:
        return found[0]
    listed = "; ".join(g.what for g in (found or open_ones)[:5])
    if not found:
        raise CommandError(f"No open goal of {client.name} matches {words!r}. Open: {listed}.", usage)
    raise CommandError(f"{client.name} has {len(found)} open goals{' matching ' + repr(words) if words else ''}: "
                       f"{listed}. Say which, like /client goal {client.name} {found[0].what.split()[0]} {example}.",
                       usage)


def _confidence(session: Session, ctx: Context, client: Client, words: str, raw: str | None, note: str | None,
                usage: str) -> b.Reply:
    if raw is None or not (raw.isascii() and raw.isdigit()) or int(raw) not in CONFIDENCE:
        shown = f", not {raw!r}" if raw is not None else ""
        raise CommandError(f"Confidence is a whole number from 1 to 10{shown}, like /client goal {client.name} "
                           "confidence 7.", usage)
    client = lock_found(session, ctx, client)  # serialised with the weekly card's buttons
    goal = _pick(client, open_goals(session, client.id), words, f"confidence {raw}", usage)
    before = goal.confidence
    at_risk = check(session, goal, int(raw), note, ctx.user_id, ctx.now)
    was = f" (was {before}/10)" if before is not None else ""
    lines = [b.line(b.emoji("bar_chart"), " Confidence in ", b.text(goal.what, italic=True), " for ",
                    b.text(client.name, bold=True), f": {raw}/10{was}.")]
    if goal.at_risk_since is not None:
        why = f"{RISK_LEVEL} or less" if int(raw) <= RISK_LEVEL else f"a drop of {RISK_DROP} or more within 14 days"
        lines.append(b.line(b.emoji("warning"), " ", b.text("At risk" if at_risk else "Still at risk", bold=True),
                            f" ({why}). Have the awkward conversation now: what happens if we don't get there? "
                            "Change the strategy, or scope it down together."))
    return b.reply(f"Confidence in {goal.what}: {raw}/10.", b.rich(*lines))


def _close(session: Session, ctx: Context, client: Client, words: str, outcome: str, note: str | None,
           usage: str) -> b.Reply:
    client = locked_for_owner(session, ctx, client, "mark goals met or missed for")  # as the Met / Missed buttons
    goal = _pick(client, open_goals(session, client.id), words, outcome, usage)
    close_goal(session, goal, outcome, note, ctx.user_id, ctx.now)
    audit.record(session, ctx.workspace_id, ctx.user_id, f"goal_{outcome}", ctx.now, client_id=client.id,
                 detail=goal.what)
    emoji = "trophy" if outcome == "met" else "x"
    lines = [b.line(b.emoji(emoji), f" {outcome.capitalize()}: ", b.text(goal.what, italic=True), " for ",
                    b.text(client.name, bold=True), f" (you said {goal.odds}%).")]
    if note:
        lines.append(b.line(b.text(note, italic=True)))
    return b.reply(f"{outcome.capitalize()}: {goal.what}.", b.rich(*lines))


def _listed(session: Session, ctx: Context, client: Client, usage: str) -> b.Reply:
    goals = open_goals(session, client.id)
    if not goals:
        raise CommandError(f"{client.name} has no open goal. Agree one, like {_example(client)}.", usage)
    today = ctx.now.astimezone(ctx.user_tz()).date()
    items = [b.line(*describe_goal(g, today)) for g in goals]
    return b.reply(f"{client.name}'s open goals.", b.rich(b.line(b.text(f"{client.name}'s open goals", bold=True)),
                                                          b.bullets(items)))
