"""How a card reads (PRODUCT.md §4.8: a card is short): per client one headline (what happened, with dates and
numbers) and one next step; other reasons due for it in one "Also" line; why it was chosen today in a quiet line
below; buttons that each name what they do. Why a kind matters is said once, behind *View client*.

The plain-text fallback is what notifications and screen readers get: one clause per client, what happened and
what to do, at most 120 characters each. Pure functions from the planned facts to Block Kit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from bot.nudges.goal_messages import GOAL_KINDS, goal_controls
from bot.nudges.ranking import STRENGTH
from bot.nudges.said import Said, clause
from bot.nudges.wording import SOFT_TOUCHES, say
from bot.slack import blocks as b
from bot.slack.text import escape_mrkdwn
from bot.when import Days

MAX_CLIENTS_PER_MESSAGE = 10
MAX_BLOCKS = 50  # Slack's limit for a message
ANSWERS_PER_CARD = 5  # goal questions answered by buttons on one card; more are answered with the command
T = TypeVar("T")
__all__ = ["SOFT_TOUCHES", "CardView", "Handled", "NudgeView", "message", "pack"]


@dataclass(frozen=True)
class Handled:
    action: str  # 'checked in', 'snoozed Acme Corp for 2 weeks', …
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

    def worst_first(self) -> list[NudgeView]:
        """The reasons in the order they matter: the strongest sign of losing the client leads the card."""
        return sorted(self.reasons, key=lambda r: (-STRENGTH.get(r.kind, 0.0), r.nudge_id))


# The buttons that do what a reason asks, by the group of kinds each acts on (bot/buttons/clicks.py). Reasons
# with no such action (gone quiet, warning signs, …) are dealt with by logging a touch.
DONE_GROUPS = {"checkin": "checkin", "handoff_checkin": "checkin", "thank": "thank", "promise": "promise",
               "issue": "issue", "heads_up": "heads_up", "intro": "intro", "intro_reminder": "intro"}
DONE_LABELS = {"checkin": "Record check-in", "thank": "Mark thanked", "promise": "Mark kept",
               "issue": "Record update sent", "heads_up": "Mark heads-up given", "intro": "Mark introduced"}
DONE_ACTION = "nudge_done"  # + "_" + the group; the bare id is an old message's Done, for every reason on it
SNOOZES = (("1w", "1 week"), ("2w", "2 weeks"), ("1m", "1 month"))
# What *Mark not relevant* ends for good (bot/relationship/schedule.py not_relevant), said before it does
ENDS = {"quiet": "no more reminders about this silence (the next one starts once they get in touch)",
        "advocate": "nothing more about their advocate's silence this time",
        "heads_up": "the heads-up is no longer asked for", "intro": "no reminder about the introduction",
        "intro_reminder": "no more reminders about the introduction",
        "winback": "the former-client series ends for good",
        "thank": "no second reminder to thank them (it stays open for /client thanked)"}


def done_groups(reasons: Sequence[NudgeView]) -> list[str]:
    """The groups whose button a card shows: those with a reason still open, in the card's order."""
    return list(dict.fromkeys(DONE_GROUPS[r.kind] for r in reasons if r.kind in DONE_GROUPS and r.handled is None))


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if b.is_person(user_id) else "Rapport"  # captured mail closes cards with no person


def not_relevant_confirm(name: str, kinds: Sequence[str]) -> dict[str, Any]:
    ends = list(dict.fromkeys(ENDS.get(kind, "") for kind in kinds if kind in ENDS))
    said = "; ".join(ends) if ends else "this card closes and nothing more is asked about it"
    return b.confirm_dialog("Mark as not relevant?", f"{name}: {said}. This can't be undone.", "Mark not relevant",
                            "Keep it")


def snooze_menu(action_id: str, value: str) -> b.Element:
    return {"type": "static_select", "action_id": action_id,
            "placeholder": {"type": "plain_text", "text": "Snooze…"},
            "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{value}:{period}"}
                        for period, label in SNOOZES]}


def _controls(card: CardView, days: Days) -> b.Block:
    """Buttons while the card is open; who did what and when once someone acted on it."""
    if card.handled is not None:
        return b.context(f":white_check_mark: {_who(card.handled.user_id)} {escape_mrkdwn(card.handled.action)} on "
                         f"{days(card.handled.at)}.")
    value = str(card.first.nudge_id)
    done = [b.button(DONE_LABELS[group], f"{DONE_ACTION}_{group}", value) for group in done_groups(card.reasons)]
    return b.actions(
        b.button("Log a touch", "nudge_log", value, style="primary"),
        *done,
        b.button("View client", "nudge_open", value),
        snooze_menu("nudge_snooze", value),
        b.button("Mark not relevant", "nudge_not_relevant", value,
                 confirm=not_relevant_confirm(card.first.client_name, [r.kind for r in card.reasons])),
        block_id=f"nudge-{value}",
    )


def _handled_line(view: NudgeView, days: Days) -> b.Block:
    assert view.handled is not None
    return b.line(b.emoji("white_check_mark"), " ", b.user(view.handled.user_id),
                  f" {view.handled.action} on {days(view.handled.at)}.")


def said_of(view: NudgeView, days: Days) -> Said:
    return say(view.kind, view.client_name, view.facts, days)


def _card(card: CardView, days: Days, to_owner: bool) -> tuple[list[b.Block], str]:
    """Blocks for one client's card, and its clause of the plain-text fallback."""
    reasons = card.worst_first()
    said = [said_of(r, days) for r in reasons]
    top, top_said = reasons[0], said[0]
    lines = [b.line(b.emoji(top_said.emoji), " ", *top_said.headline)]
    also = [s.what for r, s in zip(reasons[1:], said[1:], strict=True)
            if r.handled is None and r.kind not in GOAL_KINDS]
    if also:
        lines.append(b.line(b.text("Also: ", bold=True), "; ".join(also) + "."))
    lines.append(b.line(b.text("Next: ", bold=True), *top_said.next))
    if card.handled is None:  # one reason answered on its own while the card stays open for the others
        lines += [_handled_line(r, days) for r in reasons if r.handled is not None]
    blocks: list[b.Block] = [b.rich(*lines)]
    open_card = card.handled is None
    asked = 0
    for index, (view, view_said) in enumerate(zip(reasons, said, strict=True)):
        answers = goal_controls(view.kind, view.nudge_id) if open_card and view.handled is None else None
        if answers is None or asked >= ANSWERS_PER_CARD:
            continue
        if index:  # a goal question that is not the headline: its own line above its answers
            blocks.append(b.rich(b.line(b.emoji(view_said.emoji), " ", *view_said.headline)))
        blocks.append(answers)
        asked += 1
    about = [] if to_owner else [f"For <@{card.first.owner_id}>"]
    why = _why_today(card.why) if card.why else None
    if why:
        about.append(escape_mrkdwn(why))
    if card.note and open_card:
        about.append(f":inbox_tray: {escape_mrkdwn(card.note)}")
    if about:
        blocks.append(b.context(" · ".join(about)))
    blocks.append(_controls(card, days))
    whats = [s.what for r, s in zip(reasons, said, strict=True) if r.handled is None] or [top_said.what]
    return blocks, clause(top.client_name, whats, top_said.todo)


def _why_today(why: str) -> str | None:
    """Why this client today, when it says more than the headline does (its value, how long it waited); cards
    chosen before this wording said "chosen today: …", and say it the same way now."""
    said = why.removeprefix("chosen today: ").removeprefix("Why today: ")
    return "Why today: " + said if ", " in said else None


def card_size(kinds: Sequence[str]) -> int:
    """Blocks one card takes in a message at most, its divider included: four, and for each goal question a row of
    answers and the line above it."""
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


def message(cards: list[CardView], days: Days | None = None, *, to_owner: bool = False,
            ) -> tuple[str, list[b.Block], dict[str, Any]]:
    """One Slack message for up to ten clients' cards: (fallback text, blocks, message metadata). `days`: how its
    days read (the workspace's timezone); `to_owner`: it is posted in the owner's own DM, where "For @you" would
    only repeat who is reading."""
    assert 0 < len(cards) <= MAX_CLIENTS_PER_MESSAGE
    days = days or Days()
    blocks: list[b.Block] = []
    clauses = []
    for index, card in enumerate(cards):
        if index:
            blocks.append(b.divider())
        card_blocks, said = _card(card, days, to_owner)
        blocks += card_blocks
        clauses.append(said)
    text = clauses[0] if len(clauses) == 1 else \
        f"{len(clauses)} clients need attention:\n" + "\n".join(f"• {c}" for c in clauses)
    metadata = {"event_type": "rapport_nudge",
                "event_payload": {"nudge_ids": [i for card in cards for i in card.nudge_ids]}}
    return b.fallback(text), blocks, metadata


def is_direct(channel: str) -> bool:
    """A DM (a D… channel) or a user id a DM is posted to, as opposed to a channel (C…, G…)."""
    return channel[:1] in ("D", "U", "W")
