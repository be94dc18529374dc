"""How a closeout's checklist and a handoff read (PRODUCT.md §4.13): the checklist card with its tick buttons, and
the lines the client card shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.handoffs.closeout import ITEMS, unticked
from bot.handoffs.handoff import is_halved
from bot.relationship.thresholds import halved_days
from bot.slack import blocks as b
from bot.slack.text import escape_mrkdwn
from storage.handoffs import latest_handoff_and_closeout, ticks_of
from storage.models import Client, Closeout, CloseoutTick

TICK_ACTION = "closeout_tick"


def _ticked(tick: CloseoutTick) -> str:
    return f"<@{tick.by}> <!date^{int(tick.at.timestamp())}^{{date_short_pretty}}|{tick.at:%Y-%m-%d}>"


def checklist_blocks(client: Client, closeout: Closeout, ticks: dict[str, CloseoutTick]) -> list[b.Block]:
    """The checklist: each item ticked (by whom and when) or with its Tick button."""
    left = unticked(ticks)
    state = "done" if not left else f"{len(ITEMS) - len(left)} of {len(ITEMS)} ticked"
    head: list[b.Element | str] = [b.emoji("clipboard"), " Closeout of ", b.text(client.name, bold=True), " opened ",
            b.date(closeout.opened_at), " by ", b.user(closeout.opened_by), f" · {state}"]
    blocks: list[b.Block] = [b.paragraph(*head)]
    if closeout.note:
        blocks.append(b.paragraph(b.text(closeout.note, italic=True)))
    for key, words in ITEMS:
        tick = ticks.get(key)
        if tick is not None:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": f":white_check_mark: ~{words}~ · {_ticked(tick)}"}})
        else:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":white_large_square: {words}"},
                           "accessory": b.button("Tick", TICK_ACTION, f"{closeout.id}:{key}")})
    if not left:
        blocks.append(b.context("Every item is ticked: the project is closed out, and "
                                f"{escape_mrkdwn(client.name)} stays a client."))
    return blocks


def status_lines(session: Session, client: Client, now: datetime) -> list[b.Block]:
    """The latest handoff and closeout, for the client card."""
    lines: list[b.Block] = []
    handoff, closeout = latest_handoff_and_closeout(session, client.id)
    if handoff is not None:
        parts: list[b.Element | str] = [b.emoji("handshake"), " Handed from ", b.user(handoff.from_user), " to ",
                                        b.user(handoff.to_user), " on ", b.date(handoff.at)]
        if handoff.introduced_at is not None:
            parts += ["; introduced ", b.date(handoff.introduced_at)]
        elif handoff.next_check_at is not None:
            parts.append("; introduction to the client still to make")
        if handoff.note:
            parts += [": ", b.text(handoff.note, italic=True)]
        lines.append(b.line(*parts))
        if is_halved(client, now) and client.halved_until is not None:
            lines.append(b.line(f"Quiet threshold halved to {halved_days(client.quiet_threshold_days)} days after the "
                                "handoff, until ", b.date(client.halved_until), "."))
    if closeout is not None:
        ticks = ticks_of(session, closeout.id)
        done = closeout.done_at is not None
        lines.append(b.line(b.emoji("clipboard"), " Closeout opened ", b.date(closeout.opened_at),
                            f": {'done' if done else f'{len(ticks)} of {len(ITEMS)} ticked'}" +
                            ("" if done else f" (tick with /client closeout {client.name})")))
        items = []
        for key, words in ITEMS:
            tick = ticks.get(key)
            who: list[b.Element | str] = [" · ", b.user(tick.by), " ", b.date(tick.at)] if tick else []
            items.append(b.line("✓ " if tick else "☐ ", words, *who))
        lines.append(b.bullets(items))
    return lines
