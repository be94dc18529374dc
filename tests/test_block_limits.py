"""Block Kit builders are pure functions; these hold them to Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.log_form.form import log_form
from bot.nudges.messages import CardView, Handled, NudgeView, message
from bot.slack import blocks as b

NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)
LONG = "W" * 100


def _walk(node: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _limits_hold(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert len(blocks) <= max_blocks
    nodes: list[dict[str, Any]] = []
    _walk(blocks, nodes)
    for node in nodes:
        if node.get("type") == "button":
            assert len(node["text"]["text"]) <= 75 and len(node.get("value", "")) <= 2000
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            assert len(node["text"]) <= 3000
    block_ids = [blk["block_id"] for blk in blocks if "block_id" in blk]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique in a message"
    for blk in blocks:
        if blk["type"] == "actions":
            ids = [e["action_id"] for e in blk["elements"]]
            assert len(ids) == len(set(ids)) and len(ids) <= 25


def _views(count: int, handled: bool = False) -> list[NudgeView]:
    kinds = ["quiet", "unanswered", "checkin", "thank", "at_risk", "advocate"]
    facts = {
        "quiet": {"spell": NOW.isoformat(), "heard": NOW.isoformat(), "silent_days": 40, "threshold": 30,
                  "how": "rhythm", "number": 2, "of": 3, "contact": LONG},
        "unanswered": {"count": 4, "since": NOW.isoformat(), "heard": None},
        "checkin": {"every": "2 weeks", "last": None, "due": NOW.isoformat()},
        "thank": {"referred": LONG, "logged": NOW.isoformat(), "days": 3, "number": 1},
        "at_risk": {"signs": [{"kind": "complaint", "at": NOW.isoformat()}] * 5},
        "advocate": {"contact": LONG, "heard_from_contact": NOW.isoformat(), "heard": NOW.isoformat(),
                     "threshold": 30, "silent_days": 35},
    }
    done = Handled("marked it done", "UANA", NOW + timedelta(hours=1)) if handled else None
    return [NudgeView(i + 1, kinds[i % 6], LONG, "UANA", facts[kinds[i % 6]], done) for i in range(count)]


def _cards(handled: bool = False) -> list[CardView]:
    """Ten clients, each due for three reasons, each with why it was chosen and a backlog note: the most a
    message carries."""
    views = _views(30)
    done = Handled("marked it done", "UANA", NOW + timedelta(hours=1)) if handled else None
    why = "Why today: 2+ warning signs, top 10% by value, waited 9 workdays, the longest"
    note = "2,000 of your clients are due for attention. These 5 matter most today; the other 1,995 wait."
    return [CardView(tuple(views[3 * i:3 * i + 3]), why, note, done) for i in range(10)]


def test_a_full_nudge_message_fits_slacks_limits():
    text, blocks, metadata = message(_cards())
    _limits_hold(blocks, 50)
    assert len(text) <= 3000 and len(metadata["event_payload"]["nudge_ids"]) == 30
    assert [e["action_id"] for e in blocks[2]["elements"]] == [
        "nudge_log", "nudge_done_checkin", "nudge_open", "nudge_snooze", "nudge_not_relevant"]
    _, handled_blocks, _ = message(_cards(handled=True))
    _limits_hold(handled_blocks, 50)
    assert not any(blk["type"] == "actions" for blk in handled_blocks)


def test_the_log_form_fits_a_modal():
    view = log_form((1, LONG), NOW.date(), 5)
    _limits_hold(view["blocks"], 100)
    assert len(view["title"]["text"]) <= 24 and len(view["private_metadata"]) <= 3000
    kinds = next(blk for blk in view["blocks"] if blk["block_id"] == "kind")["element"]["options"]
    assert len(kinds) <= 100 and all(len(o["text"]["text"]) <= 75 for o in kinds)


def test_replies_clip_what_slack_would_reject():
    assert len(b.header(LONG * 3)["text"]["text"]) == 150
    assert len(b.button(LONG, "a", "1")["text"]["text"]) == 75
    assert len(b.fallback("x" * 5000)) == 3000
