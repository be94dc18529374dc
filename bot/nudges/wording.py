"""What each kind of nudge says (PRODUCT.md §4): what happened, with dates and numbers, and the one next step, in
words a person uses — "no reply to 3 emails since 30 Jun", never our machinery ("overdue", "outreach unanswered").
Pure functions from the planned facts; goals and handoffs say theirs in goal_messages.py and handoff_messages.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.nudges import handoff_messages
from bot.nudges.goal_messages import GOAL_KINDS, say_goal
from bot.nudges.said import WHY, Said, plural
from bot.slack import blocks as b
from bot.when import Days

SOFT_TOUCHES = (
    "send them your newsletter, or a short note on something you learned this quarter",
    "share an article that speaks to a challenge they mentioned",
    "send a useful resource: a template, checklist or tool you use yourself",
    "invite them to an event, webinar or meetup you are going to",
    "introduce them to someone in your network who could help them",
    "congratulate them on a recent milestone or piece of news",
)
SOFT_SHORT = ("send your newsletter", "share a useful article", "send a useful resource", "invite them to an event",
              "make an introduction for them", "congratulate them on their news")
# How a warning sign reads: logged kinds come as their labels (bot/relationship/kinds.py), ours as the planner
# names them; both as a person would say them.
SIGN_WORDS = {"last-minute cancellation": "a last-minute cancellation", "delay": "a delay",
              "fee dispute": "a fee dispute", "complaint": "a complaint",
              "the advocate left a linked channel": "their advocate left your shared channel",
              "overdue promise": "a promise of ours gone late", "issue without news": "an issue left without news",
              "goal at risk": "a goal at risk"}
SIGNS_SHOWN = 3
TOUCH_WORDS = {"call": ("call", "calls"), "meeting": ("meeting", "meetings"), "email": ("email", "emails"),
               "message": ("message", "messages"), "visit": ("visit", "visits")}


def _day(days: Days, value: str | None) -> str:
    return days(value) if value else "?"


def say(kind: str, name: str, f: dict[str, Any], days: Days) -> Said:
    """What a reason of this kind says about client `name`, from its planned facts."""
    client = b.text(name, bold=True)
    if kind in GOAL_KINDS:
        return say_goal(kind, name, f, days)
    if kind in handoff_messages.KINDS:
        return handoff_messages.say(kind, name, f, days)
    maker = _SAYERS.get(kind)
    if maker is None:
        raise ValueError(f"unknown nudge kind {kind!r}")
    return maker(client, name, f, days)


def _quiet(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    silent = plural(f["silent_days"], "day")
    if f.get("heard"):
        seen = f"no word from them since {days(f['heard'])}, {silent} ago"
        what = f"no word from them since {days(f['heard'])}"
    else:
        seen = f"nothing from their side in the {silent} since you started tracking them"
        what = f"nothing from them in {silent}"
    usual = {"rhythm": f"; you usually hear from them every {plural(max(1, f['threshold'] // 2), 'day')}",
             "own": f", longer than the {plural(f['threshold'], 'day')} you set for them"}.get(f.get("how", ""), "")
    if f.get("halved"):
        usual += "; watched twice as closely for 90 days after a handoff"
    reminder = f" (reminder {f['number'] - 1} of {f['of'] - 1})" if f.get("number", 1) > 1 else ""
    who = f"call {f['contact']}" if f.get("contact") else "give them a call"
    return Said("bell", (client, f" has gone quiet: {seen}{usual}{reminder}."),
                (f"{who}, or send something useful with no ask attached.",), what, who, WHY["quiet"])


def _unanswered(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    kinds: dict[str, int] = Counter(f.get("kinds") or {})
    if kinds and sum(kinds.values()) == f["count"]:
        said = [plural(n, *TOUCH_WORDS.get(k, (k, k + "s"))) for k, n in sorted(kinds.items(), key=lambda i: -i[1])]
        tried = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    else:
        tried = plural(f["count"], "attempt")  # planned before kinds were kept: the digest's word too
    what = f"no reply to {tried} since {days(f['since'])}"
    return Said("telephone_receiver", (client, f" hasn't replied to {tried} from you since {days(f['since'])}."),
                ("pick up the phone, or ask for a short meeting, rather than another email.",),
                what, "call them, or ask for a short meeting", WHY["unanswered"])


def _checkin(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    last = f"the last on {days(f['last'])}" if f.get("last") else "and there hasn't been one yet"
    every = str(f["every"]).removeprefix("1 ")  # "every month", not "every 1 month"
    return Said("calendar", ("A check-in with ", client, f" is due: every {every}, {last}."),
                ("ask “How are you feeling about everything?”, then press ", b.text("Record check-in", bold=True),
                 "."),
                f"a check-in is due (every {every}, {last.removeprefix('and ')})",
                "ask how they feel about everything",
                WHY["checkin"])


def _thank(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    again = " still" if f.get("number", 1) > 1 else ""
    return Said("pray", (client, " introduced you to ", b.text(f["referred"], bold=True), f" on {days(f['logged'])}"
                         f" and{again} hasn't been thanked."),
                ("send a short personal note of thanks, then press ", b.text("Mark thanked", bold=True), "."),
                f"{f['referred']}'s introduction on {days(f['logged'])} not yet thanked",
                "send a short note of thanks", WHY["thank"])


def _at_risk(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    signs = sorted(f["signs"], key=lambda s: s["at"], reverse=True)  # the latest first
    shown = [f"{SIGN_WORDS.get(s['kind'], s['kind'])} ({days(s['at'])})" for s in signs[:SIGNS_SHOWN]]
    more = f" and {len(signs) - SIGNS_SHOWN} more" if len(signs) > SIGNS_SHOWN else ""
    latest = signs[0] if signs else None
    what = plural(len(signs), "warning sign") + " in 30 days" + (
        f", the latest {SIGN_WORDS.get(latest['kind'], latest['kind'])} on {days(latest['at'])}" if latest else "")
    return Said("warning", (client, f" shows {plural(len(signs), 'warning sign')} in 30 days: "
                            f"{', '.join(shown)}{more}."),
                ("ask for an honest conversation about what isn't working.",),
                what, "ask for an honest conversation", WHY["at_risk"])


def _advocate(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    contact = f["contact"]
    return Said("bell", (b.text(contact, bold=True), ", your advocate at ", client, " (their primary contact), has "
                         f"been quiet since {days(f['heard_from_contact'])}, {plural(f['silent_days'], 'day')} ago, "
                         f"though others there still talk to you (last on {days(f['heard'])})."),
                (f"reach {contact} directly, one to one.",),
                f"{contact}, your advocate there, quiet since {days(f['heard_from_contact'])}",
                f"reach {contact} one to one", WHY["advocate"])


def _winback(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    ended: list[b.Element | str] = [f" (ended {days(f['ended'])}"]
    if f.get("reason"):
        ended += [": ", b.text(f["reason"], italic=True)]
    ended.append(")")
    if f["number"] == 1:
        return Said("wave", ("It's been 90 days since ", client, " stopped being a client", *ended, "."),
                    ("a short, genuine note: say you know they are no longer a client, and ask what you could have "
                     "done better. No pitch.",),
                    f"a former client since {days(f['ended'])}: time to ask for honest feedback",
                    "ask what you could have done better", WHY["winback"])
    touch = f["number"] - 1
    return Said("seedling", ("A soft touch for ", client, ", a former client", *ended,
                             f": touch {touch} of {f['of']}."),
                (SOFT_TOUCHES[(touch - 1) % len(SOFT_TOUCHES)] + ". Nothing to sell.",),
                f"a former client since {days(f['ended'])}: time for a soft touch",
                SOFT_SHORT[(touch - 1) % len(SOFT_SHORT)], WHY["winback"])


def _reply(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    hours = f" {plural(f['hours'], 'business hour')} ago" if f.get("hours") else ""
    opened: list[b.Element | str] = [" (", b.link(f["permalink"], "open the message"), ")"] \
        if f.get("permalink") else []
    return Said("speech_balloon", (b.user(f["user"]) if f.get("user") else "Someone", " at ", client, " asked in ",
                                   b.channel(f["channel"]), f"{hours}; nobody from your side has answered", *opened,
                                   "."),
                ("answer in the channel or its thread, even if only to say when you will know more.",),
                "a question of theirs has waited "
                f"{plural(f['hours'], 'business hour') if f.get('hours') else 'a while'} for an answer",
                "answer it, even briefly",
                WHY["reply"])


def _promise(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    what, due = b.text(f["what"], italic=True), days(f["due"])
    kept = ("Then press ", b.text("Mark kept", bold=True), ".")
    short = b.clip(f["what"], 40)
    if f["stage"] == "soon":
        return Said("handshake", ("You promised ", client, " ", what, f" by {due}: the next business day."),
                    ("deliver it; or, if it will slip, tell them today, with a new day you can keep. ", *kept),
                    f"your promise is due {due}: {short}", "deliver it, or tell them today if it will slip",
                    WHY["promise"])
    again = f" (reminder {f['number'] - 1} of {f['of'] - 1})" if f.get("number", 1) > 1 else ""
    ago = plural(f["days"], "day")
    return Said("alarm_clock", ("Your promise to ", client, ", ", what, f", was due {due}, {ago} ago{again}."),
                ("deliver it, or tell them honestly where it stands and when it will be done. ", *kept),
                f"your promise was due {due}: {short}", "deliver it, or tell them where it stands", WHY["promise"])


def _issue(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    since = "your last update" if f.get("updated") else "it was raised"
    return Said("hammer_and_wrench", (client, " is waiting for news on ", b.text(f["what"], italic=True),
                                      f": nothing from you since {since}, {days(f['since'])}."),
                ("send a short status update with an honest estimate, then press ",
                 b.text("Record update sent", bold=True), " (any touch to them counts). Fixed? ",
                 b.text(f"/client resolved {name}", code=True)),
                f"waiting for news on {b.clip(f['what'], 40)} since {days(f['since'])}",
                "send a status update with an honest estimate", WHY["issue"])


def _eta(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    return Said("calendar", ("The estimate you gave ", client, " for ", b.text(f["what"], italic=True),
                             f", {days(f['eta'])}, has passed."),
                ("give them a new, honest one: ", b.text(f"/client issue {name} {f['what'][:40]} eta …", code=True)),
                f"your estimate for {b.clip(f['what'], 40)}, {days(f['eta'])}, has passed",
                "give them a new, honest estimate", WHY["eta"])


def _heads_up(client: b.Element, name: str, f: dict[str, Any], days: Days) -> Said:
    sponsor: list[b.Element | str] = [b.text(f["sponsor"], bold=True), " (a sponsor)"] if f.get("sponsor") \
        else ["a sponsor"]
    advocate = f["advocate"]
    return Said("raised_hand", ("You spoke with ", *sponsor, " at ", client, f" on {days(f['since'])}, and ",
                                b.text(advocate, bold=True), ", your advocate there, hasn't heard from you since."),
                (f"give {advocate} a heads-up: who you spoke with and why. Then press ",
                 b.text("Mark heads-up given", bold=True), "."),
                f"{advocate}, your advocate, hasn't heard about your talk with {f.get('sponsor') or 'a sponsor'}",
                f"give {advocate} a heads-up", WHY["heads_up"])


_SAYERS = {"quiet": _quiet, "unanswered": _unanswered, "checkin": _checkin, "thank": _thank, "at_risk": _at_risk,
           "advocate": _advocate, "winback": _winback, "reply": _reply, "promise": _promise, "issue": _issue,
           "eta": _eta, "heads_up": _heads_up}
