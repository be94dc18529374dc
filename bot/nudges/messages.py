"""What a nudge says: the client, what was observed (dates, numbers), why it matters, the next action.

Pure functions from the planned facts to Block Kit; written to read like a thoughtful colleague.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.nudges import handoff_messages
from bot.nudges.goal_messages import GOAL_KINDS, goal_controls, goal_reason
from bot.slack import blocks as b
from bot.slack.text import escape_mrkdwn

MAX_CLIENTS_PER_MESSAGE = 10
MAX_BLOCKS = 50  # Slack's limit for a message
ANSWERS_PER_CARD = 5  # goal questions answered by buttons on one card; more are answered with the command
T = TypeVar("T")


@dataclass(frozen=True)
class Handled:
    action: str  # 'marked it done', 'snoozed it for 2 weeks', …
    user_id: str
    at: datetime


@dataclass(frozen=True)
class NudgeView:
    """One nudge as delivery sees it: ids for metadata, and the current names to show."""

    nudge_id: int
    kind: str
    client_name: str
    owner_id: str
    facts: dict[str, Any]
    handled: Handled | None = None


@dataclass(frozen=True)
class CardView:
    """One client on one message: every reason due for it (PRODUCT.md §4.8), why it was chosen today, and on
    a person's first card of the day how many more wait. Cards from before focus have no `why`."""

    reasons: tuple[NudgeView, ...]
    why: str | None = None
    note: str | None = None
    handled: Handled | None = None

    @property
    def first(self) -> NudgeView:
        return self.reasons[0]

    @property
    def nudge_ids(self) -> list[int]:
        return [r.nudge_id for r in self.reasons]


SOFT_TOUCHES = (
    "send them your newsletter, or a short note on something you learned this quarter",
    "share an article that speaks to a challenge they mentioned",
    "send a useful resource: a template, checklist or tool you use yourself",
    "invite them to an event, webinar or meetup you are going to",
    "introduce them to someone in your network who could help them",
    "congratulate them on a recent milestone or piece of news",
)
DONE_LABELS = {"checkin": "Check-in done", "thank": "Mark thanked", "promise": "Mark kept",
               "issue": "Sent an update", "heads_up": "Gave a heads-up",
               "intro": "Introduced", "intro_reminder": "Introduced",
               "handoff_checkin": "Check-in done"}
SNOOZES = (("1w", "1 week"), ("2w", "2 weeks"), ("1m", "1 month"))


def done_label(kinds: set[str]) -> str:
    """*Check-in done* or *Mark thanked* when that is all the card is about; otherwise *Done*."""
    return DONE_LABELS.get(next(iter(kinds)), "Done") if len(kinds) == 1 else "Done"


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if b.is_person(user_id) else "Rapport"  # captured mail closes cards with no person


def _controls(card: CardView) -> b.Block:
    """Buttons while the card is open; who did what and when once someone acted on it."""
    if card.handled is not None:
        return {"type": "context", "elements": [
            {"type": "mrkdwn", "text": f":white_check_mark: {_who(card.handled.user_id)} {card.handled.action} "
                                       f"<!date^{int(card.handled.at.timestamp())}^{{date_short_pretty}} at "
                                       f"{{time}}|{card.handled.at:%Y-%m-%d %H:%M} UTC>"}]}
    value = str(card.first.nudge_id)
    snooze = {"type": "static_select", "action_id": "nudge_snooze",
              "placeholder": {"type": "plain_text", "text": "Snooze…"},
              "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{value}:{period}"}
                          for period, label in SNOOZES]}
    return b.actions(
        b.button("Log a touch", "nudge_log", value, style="primary"),
        snooze,
        b.button(done_label({r.kind for r in card.reasons}), "nudge_done", value),
        b.button("Not relevant", "nudge_not_relevant", value),
        b.button("Open", "nudge_open", value),
        block_id=f"nudge-{value}",
    )


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _day(value: str) -> b.Element:
    """A calendar day (a promise's, an estimate's), shown as a date at noon UTC so every reader sees that day."""
    return b.date(datetime.fromisoformat(value).replace(hour=12, tzinfo=UTC))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('ch') else 's'}"


def _why(*parts: b.Element | str) -> b.Block:
    return b.line(b.text("Why it matters: ", bold=True), *parts)


def _next(*parts: b.Element | str) -> b.Block:
    return b.line(b.text("Next: ", bold=True), *parts)


def _reason(view: NudgeView) -> tuple[list[b.Block], str]:
    """Rich-text lines for one reason, and its one-line plain-text fallback."""
    f, name = view.facts, view.client_name
    client = b.text(name, bold=True)
    if view.kind in GOAL_KINDS:
        lines, fallback = goal_reason(view.kind, f, name)
        if view.handled is not None:  # answered on its own while the card stays open for its other reasons
            lines.append(b.line(b.emoji("white_check_mark"), " ", b.user(view.handled.user_id),
                                f" {view.handled.action}."))
        return lines, fallback
    if view.kind == "quiet":
        how = {"own": "the threshold set for them", "rhythm": "twice their usual gap between contacts",
               "default": "the default"}[f["how"]] + (", halved for 90 days after a handoff" if f.get("halved") else "")
        seen: list[b.Element | str] = (["You last heard from them ", b.date(_when(f["heard"])),
                                        f", {_plural(f['silent_days'], 'day')} ago"] if f["heard"] else
                                       [f"Nothing from their side since you started tracking them, "
                                        f"{_plural(f['silent_days'], 'day')} ago"])
        reminder = f" (reminder {f['number'] - 1} of {f['of'] - 1})" if f["number"] > 1 else ""
        who = f"call {f['contact']}" if f.get("contact") else "give them a call"
        lines = [
            b.line(b.emoji("bell"), " ", client, f" has gone quiet{reminder}."),
            b.line(*seen, f"; for them, quiet means more than {_plural(f['threshold'], 'day')} ({how})."),
            _why("clients rarely say they are unhappy; they go quiet first."),
            _next(f"{who}, or send something useful with no ask attached."),
        ]
        fallback = f"{name} has gone quiet: {f['silent_days']} days without hearing from them."
    elif view.kind == "unanswered":
        lines = [
            b.line(b.emoji("telephone_receiver"), " ", client, f" hasn't answered {_plural(f['count'], 'touch')} "
                   "from us, the first on ", b.date(_when(f["since"])), "."),
            _why("when calls and emails stop being returned, another "
                   "email is the easiest thing to ignore."),
            _next("pick up the phone, or ask for a short meeting."),
        ]
        fallback = f"{name} hasn't answered {f['count']} touches from us."
    elif view.kind == "checkin":
        last: list[b.Element | str] = (["; the last was ", b.date(_when(f["last"]))] if f["last"] else
                                       ["; there hasn't been one yet"])
        lines = [
            b.line(b.emoji("calendar"), " A check-in with ", client, f" is due (every {f['every']}", *last, ")."),
            _why("small, regular conversations catch problems while "
                   "they are still small."),
            _next("ask “How are you feeling about everything?”, then log the answer: ",
                   b.text(f"/client checkin {name} done : …", code=True)),
        ]
        fallback = f"A check-in with {name} is due."
    elif view.kind == "thank":
        again = " still" if f["number"] > 1 else ""
        lines = [
            b.line(b.emoji("pray"), " ", client, " introduced you to ", b.text(f["referred"], bold=True), " on ",
                   b.date(_when(f["logged"])), f" and{again} hasn't been thanked."),
            _why("a referral is the strongest sign of trust, and an "
                   "unthanked one is rarely repeated."),
            _next("a short personal note of thanks, then ",
                   b.text(f"/client thanked {name}", code=True)),
        ]
        fallback = f"Thank {name} for introducing {f['referred']}."
    elif view.kind == "at_risk":
        signs: list[b.Element | str] = []
        for index, sign in enumerate(f["signs"]):
            signs += [", " if index else "", sign["kind"], " (", b.date(_when(sign["at"])), ")"]
        lines = [
            b.line(b.emoji("warning"), " ", client, f" shows {_plural(len(f['signs']), 'warning sign')} within "
                   "30 days: ", *signs, "."),
            _why("clients rarely complain outright; this is how leaving "
                   "usually starts."),
            _next("ask for an honest conversation about what isn't working."),
        ]
        fallback = f"{name} shows {len(f['signs'])} warning signs in 30 days."
    elif view.kind == "advocate":
        lines = [
            b.line(b.emoji("bell"), " ", b.text(f["contact"], bold=True), ", your advocate at ", client,
                   ", has been quiet since ", b.date(_when(f["heard_from_contact"])),
                   f" ({_plural(f['silent_days'], 'day')}), though others there still talk to you (last on ",
                   b.date(_when(f["heard"])), ")."),
            _why("the advocate going quiet is the earlier warning."),
            _next(f"reach {f['contact']} directly, one to one."),
        ]
        fallback = f"{f['contact']} at {name} has gone quiet."
    elif view.kind == "winback":
        ended: list[b.Element | str] = [" (ended ", b.date(_when(f["ended"]))]
        if f.get("reason"):
            ended += [": ", b.text(f["reason"], italic=True)]
        ended.append(")")
        if f["number"] == 1:
            lines = [
                b.line(b.emoji("wave"), " It's been 90 days since ", client, " stopped being a client", *ended, "."),
                _why("a former client's honest view is the most useful feedback you will get, and asking shows "
                     "you cared about more than the invoice."),
                _next("a short, genuine note: say you know they are no longer a client, and ask what you could "
                      "have done better. No pitch."),
            ]
            fallback = f"Ask {name} for honest feedback, 90 days after they left."
        else:
            touch = f["number"] - 1
            lines = [
                b.line(b.emoji("seedling"), " A soft touch for ", client, ", a former client", *ended,
                       f"; touch {touch} of {f['of']}."),
                _why("staying useful without selling keeps the door open; clients who come back usually do so "
                     "because someone stayed in touch."),
                _next(SOFT_TOUCHES[(touch - 1) % len(SOFT_TOUCHES)] + ". Nothing to sell."),
            ]
            fallback = f"A soft touch for {name}, a former client."
    elif view.kind == "reply":
        where: list[b.Element | str] = [" asked in ", b.channel(f["channel"])]
        waited = f" {_plural(f['hours'], 'business hour')} ago" if f.get("hours") else ""
        opened: list[b.Element | str] = [" (", b.link(f["permalink"], "open the message"), ")"] \
            if f.get("permalink") else []
        lines = [
            b.line(b.emoji("speech_balloon"), " ", b.user(f["user"]) if f.get("user") else "Someone", " at ", client,
                   *where, waited, "; nobody from your side has answered", *opened, "."),
            _why("a question left waiting tells a client how much they matter; a quick answer is the cheapest "
                 "trust there is."),
            _next("answer in the channel or its thread, even if only to say when you will know more."),
        ]
        fallback = f"A question from {name} has waited{waited or ' a while'} for an answer."
    elif view.kind == "promise":
        due = _day(f["due"])
        what = b.text(f["what"], italic=True)
        if f["stage"] == "soon":
            lines = [
                b.line(b.emoji("handshake"), " You promised ", client, " ", what, ", due ", due,
                       ": the next business day."),
                _why("a promise kept on time is the simplest proof that they can rely on you."),
                _next("deliver it; or, if it will slip, tell them today, with a new day you can keep. Then ",
                      b.text(f"/client kept {name}", code=True), "."),
            ]
            fallback = f"Your promise to {name} is due the next business day: {f['what']}."
        else:
            again = f" (reminder {f['number'] - 1} of {f['of'] - 1})" if f["number"] > 1 else ""
            lines = [
                b.line(b.emoji("alarm_clock"), " Your promise to ", client, f" is overdue{again}: ", what,
                       " was due ", due, f", {_plural(f['days'], 'day')} ago."),
                _why("trust is lost first where a promise slips without a word."),
                _next("deliver it, or tell them honestly where it stands and when it will be done. Then ",
                      b.text(f"/client kept {name}", code=True), "."),
            ]
            fallback = f"Your promise to {name} is overdue: {f['what']}."
    elif view.kind == "issue":
        since = (["since your last update, "] if f.get("updated") else ["since it was raised, "])
        lines = [
            b.line(b.emoji("hammer_and_wrench"), " ", client, " is waiting for news on ",
                   b.text(f["what"], italic=True), ": nothing from you ", *since, b.date(_when(f["since"])),
                   f" ({_plural(f['behind'], 'update')} owed, one every {_plural(f['every'], 'business day')})."),
            _why("the client cares less that you are working on it than about when it will be solved."),
            _next("send a short status update with an honest estimate; any touch to them counts. When it is "
                  "fixed: ", b.text(f"/client resolved {name}", code=True), "."),
        ]
        fallback = f"{name} is waiting for news on {f['what']}."
    elif view.kind == "eta":
        lines = [
            b.line(b.emoji("calendar"), " The estimate you gave ", client, " for ", b.text(f["what"], italic=True),
                   ", ", _day(f["eta"]), ", has passed."),
            _why("a missed estimate that nobody mentions hurts more than the delay itself."),
            _next("give them a new, honest one: ", b.text(f"/client issue {name} {f['what'][:40]} eta …", code=True),
                  "."),
        ]
        fallback = f"The estimate you gave {name} has passed."
    elif view.kind == "heads_up":
        lines = heads_up_lines(client, f)
        fallback = f"Give {f['advocate']} at {name} a heads-up about {f.get('sponsor') or 'your talk with a sponsor'}."
    elif view.kind in handoff_messages.KINDS:
        lines, fallback = handoff_messages.render(view.kind, name, f)
    else:
        raise ValueError(f"unknown nudge kind {view.kind!r}")
    return lines, fallback


def _card(card: CardView) -> tuple[list[b.Block], str]:
    """Blocks for one client's card, and its plain-text fallback."""
    lines: list[b.Block] = []
    fallbacks = []
    blocks: list[b.Block] = []  # a goal's question is followed by its own row of answers, then the text goes on
    for index, view in enumerate(card.reasons):
        reason_lines, fallback = _reason(view)
        if index and lines:
            lines.append(b.line("\n"))
        lines += reason_lines
        fallbacks.append(fallback)
        answers = goal_controls(view.kind, view.nudge_id) if card.handled is None and view.handled is None else None
        if answers is not None and len(blocks) < 2 * ANSWERS_PER_CARD:
            blocks += [b.rich(*lines), answers]
            lines = []
    if lines:
        blocks.append(b.rich(*lines))
    about = [f"For <@{card.first.owner_id}>" + (f" · {escape_mrkdwn(card.why)}" if card.why else "")]
    if card.note and card.handled is None:
        about.append(f":inbox_tray: {escape_mrkdwn(card.note)}")
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in about]}
    return [*blocks, context, _controls(card)], "; ".join(fallbacks)


def card_size(kinds: Sequence[str]) -> int:
    """Blocks one card takes in a message at most, its divider included: four, and for each goal question a row of
    answers and the text after it."""
    return 4 + 2 * min(ANSWERS_PER_CARD, sum(1 for kind in kinds if goal_controls(kind, 0) is not None))


def pack(cards: Sequence[T], kinds_of: Callable[[T], Sequence[str]]) -> list[list[T]]:
    """Cards in messages, in order: at most ten clients and MAX_BLOCKS blocks a message."""
    messages: list[list[T]] = []
    size = 0
    for card in cards:
        need = card_size(kinds_of(card))
        if not messages or len(messages[-1]) >= MAX_CLIENTS_PER_MESSAGE or size + need > MAX_BLOCKS + 1:
            messages.append([])
            size = 0
        messages[-1].append(card)
        size += need
    return messages


def message(cards: list[CardView]) -> tuple[str, list[b.Block], dict[str, Any]]:
    """One Slack message for up to ten clients' cards: (fallback text, blocks, message metadata)."""
    assert 0 < len(cards) <= MAX_CLIENTS_PER_MESSAGE
    blocks: list[b.Block] = []
    fallbacks = []
    for index, card in enumerate(cards):
        if index:
            blocks.append(b.divider())
        card_blocks, fallback = _card(card)
        blocks += card_blocks
        fallbacks.append(fallback)
    text = fallbacks[0] if len(fallbacks) == 1 else f"{len(fallbacks)} relationships need attention: " + \
        "; ".join(fallbacks)
    metadata = {"event_type": "rapport_nudge",
                "event_payload": {"nudge_ids": [i for card in cards for i in card.nudge_ids]}}
    return b.fallback(text), blocks, metadata


def heads_up_lines(client: b.Element, f: dict[str, Any]) -> list[b.Block]:
    """Advocate first (PRODUCT.md §4.13): a sponsor was spoken to and the advocate has not heard from us since."""
    sponsor = [b.text(f["sponsor"], bold=True), " (a sponsor)"] if f.get("sponsor") else ["a sponsor"]
    return [
        b.line(b.emoji("raised_hand"), " You spoke with ", *sponsor, " at ", client, " on ", b.date(_when(f["since"])),
               ", and ", b.text(f["advocate"], bold=True), ", your advocate there, hasn't heard from you since."),
        _why("an advocate who hears about it from someone else stops being your advocate."),
        _next(f"give {f['advocate']} a heads-up: who you spoke with and why. Then press Gave a heads-up."),
    ]
