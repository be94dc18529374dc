"""How a card reads (issue 34, PRODUCT.md §4.8: a card is short): every kind, merged cards, handled cards, in a
channel and in the owner's DM, held as snapshots (tests/snapshots.py says how to regenerate them), with the budgets
as assertions: a single-reason card at most 5 lines of text, a fallback clause per client at most 120 characters,
every button a verb that says what it does, and one that ends something for good asks first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.nudges.messages import CardView, Handled, NudgeView, message
from bot.shell.render_text import render
from bot.when import Days
from tests.snapshots import LONDON, reading

NOW = datetime(2026, 12, 14, 10, tzinfo=UTC)
DAYS = Days(LONDON, 2026)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


FACTS: dict[str, tuple[str, dict[str, Any]]] = {
    "quiet": ("quiet", {"spell": ago(40), "heard": ago(40), "silent_days": 40, "threshold": 30, "how": "rhythm",
                        "number": 1, "of": 3, "contact": "Hugo Moreau"}),
    "quiet_reminder_never_heard": ("quiet", {"spell": ago(44), "heard": None, "silent_days": 44, "threshold": 30,
                                             "how": "default", "number": 2, "of": 3, "contact": None}),
    "quiet_own_threshold": ("quiet", {"spell": ago(20), "heard": ago(20), "silent_days": 20, "threshold": 14,
                                      "how": "own", "number": 1, "of": 3, "contact": None}),
    "unanswered": ("unanswered", {"count": 3, "since": ago(12), "heard": ago(40), "kinds": {"email": 3}}),
    "unanswered_mixed": ("unanswered", {"count": 3, "since": ago(12), "heard": None,
                                        "kinds": {"email": 2, "call": 1}}),
    "unanswered_planned_before_kinds": ("unanswered", {"count": 4, "since": ago(20), "heard": None}),
    "checkin": ("checkin", {"every": "2 weeks", "last": ago(16), "due": ago(2)}),
    "checkin_first": ("checkin", {"every": "1 month", "last": None, "due": ago(1)}),
    "thank": ("thank", {"referred": "Beta Ltd", "logged": ago(3), "days": 3, "number": 1}),
    "thank_again": ("thank", {"referred": "Beta Ltd", "logged": ago(8), "days": 8, "number": 2}),
    "at_risk": ("at_risk", {"signs": [{"kind": "last-minute cancellation", "at": ago(9)},
                                      {"kind": "complaint", "at": ago(2)}]}),
    "at_risk_many": ("at_risk", {"signs": [{"kind": k, "at": ago(i + 1)} for i, k in enumerate(
        ["fee dispute", "delay", "overdue promise", "complaint", "the advocate left a linked channel"])]}),
    "advocate": ("advocate", {"contact": "Jane Doe", "heard_from_contact": ago(35), "heard": ago(3),
                              "threshold": 30, "silent_days": 35}),
    "winback_feedback": ("winback", {"ended": ago(90), "reason": "budget cut", "number": 1, "of": 6}),
    "winback_soft_touch": ("winback", {"ended": ago(150), "reason": None, "number": 2, "of": 6}),
    "reply": ("reply", {"user": "UJANE", "channel": "CACME", "asked": ago(1), "ts": "1.2", "hours": 5,
                        "permalink": "https://example.slack.com/archives/CACME/p12"}),
    "promise_soon": ("promise", {"what": "the revised proposal", "due": "2026-12-15", "stage": "soon", "number": 0,
                                 "of": 3, "days": -1}),
    "promise_late": ("promise", {"what": "the revised proposal", "due": "2026-12-09", "stage": "late", "number": 2,
                                 "of": 3, "days": 5}),
    "issue": ("issue", {"what": "login errors on the portal", "since": ago(4), "opened": ago(9), "behind": 2,
                        "every": 2, "updated": True}),
    "eta": ("eta", {"what": "login errors on the portal", "eta": "2026-12-10"}),
    "heads_up": ("heads_up", {"advocate": "Jane Doe", "sponsor": "Sam Lee", "since": ago(3)}),
    "goal_check": ("goal_check", {"what": "20% more leads", "due": "2027-03-31", "odds": 70, "confidence": 6,
                                  "confidence_at": ago(7), "week": "2026-W51"}),
    "goal_risk": ("goal_risk", {"what": "20% more leads", "due": "2027-03-31", "odds": 70, "confidence": 3,
                                "confidence_at": ago(1), "since": ago(1), "highest": 7}),
    "goal_due": ("goal_due", {"what": "20% more leads", "due": "2026-12-11", "odds": 70, "confidence": 6,
                              "confidence_at": ago(8)}),
    "intro": ("intro", {"from": "UANA", "to": "UBEN", "at": ago(3), "contact": "Jane Doe"}),
    "intro_reminder": ("intro_reminder", {"from": "UANA", "to": "UBEN", "at": ago(6), "contact": None}),
    "handoff_checkin": ("handoff_checkin", {"from": "UANA", "days": 30, "number": 1, "of": 3,
                                            "contact": "Jane Doe"}),
    "closeout": ("closeout", {"opened": ago(8), "left": ["access", "checkin"], "of": 5}),
    "referable": ("referable", {}),
}
WHY = "Why today: a check-in due, top 10% by value, waited 3 workdays"
LONG_NAME = "Vantage Foods International Holdings " + "W" * 63  # 100 characters, the most a name can be


def view(case: str, nudge_id: int = 1, name: str = "Vantage Foods", handled: Handled | None = None) -> NudgeView:
    kind, facts = FACTS[case]
    return NudgeView(nudge_id, kind, name, "UANA", facts, handled)


def one(case: str, **kwargs: Any) -> CardView:
    return CardView((view(case, **kwargs),), WHY)


def text_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """The lines of text a person reads, buttons and menus left out."""
    shown, _ = render({"blocks": blocks}, LONDON)
    return [line for line in shown.splitlines() if line.strip() and not line.lstrip().startswith("[")
            and not set(line) <= {"─"}]


def every_button(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]


@pytest.mark.parametrize("case", sorted(FACTS))
def test_each_kind_reads_short_in_a_dm(case, blocks_snapshot, text_snapshot):
    text, blocks, _ = message([one(case)], DAYS, to_owner=True)
    assert blocks == blocks_snapshot
    assert reading(text, blocks) == text_snapshot
    lines = text_lines(blocks)
    assert len(lines) <= 5, lines
    assert len(text) <= 120 and "\n" not in text, "one clause per client, what happened and what to do"
    assert "<@UANA>" not in str(blocks), "no 'For @you' in your own DM"


def test_in_a_channel_the_card_names_whose_it_is(blocks_snapshot, text_snapshot):
    text, blocks, _ = message([one("quiet")], DAYS)
    assert "For <@UANA>" in str(blocks)
    assert blocks == blocks_snapshot and reading(text, blocks) == text_snapshot


def test_a_merged_card_has_one_headline_one_next_step(blocks_snapshot, text_snapshot):
    """Warning signs, a check-in due and a referrer to thank: the worst leads, the others are one line, one Next,
    and each of the two doable reasons has its own button."""
    card = CardView((view("checkin", 1), view("thank", 2), view("at_risk", 3)), WHY)
    text, blocks, _ = message([card], DAYS, to_owner=True)
    assert blocks == blocks_snapshot and reading(text, blocks) == text_snapshot
    shown = "\n".join(text_lines(blocks))
    assert shown.startswith("⚠️ Vantage Foods shows 2 warning signs")
    assert shown.count("Next:") == 1 and "Why it matters" not in shown
    assert [b["text"]["text"] for b in every_button(blocks)] == [
        "Log a touch", "Record check-in", "Mark thanked", "View client", "Mark not relevant"]
    assert len(text) <= 120


def test_a_merged_card_with_a_goal_question_keeps_its_answers(blocks_snapshot, text_snapshot):
    card = CardView((view("quiet", 1), view("goal_check", 2)), WHY)
    text, blocks, _ = message([card], DAYS, to_owner=True)
    assert blocks == blocks_snapshot and reading(text, blocks) == text_snapshot
    assert [e["text"]["text"] for e in every_button(blocks)][:10] == [str(n) for n in range(1, 11)]


def test_a_handled_card_says_who_did_what(blocks_snapshot, text_snapshot):
    done = Handled("checked in", "UBEN", NOW + timedelta(hours=1))
    card = CardView((view("checkin"),), WHY, handled=done)
    text, blocks, _ = message([card], DAYS)
    assert blocks == blocks_snapshot and reading(text, blocks) == text_snapshot
    assert not every_button(blocks)


def test_one_reason_answered_on_its_own_leaves_the_rest_open(blocks_snapshot, text_snapshot):
    thanked = Handled("thanked them", "UANA", NOW)
    card = CardView((view("checkin", 1), view("thank", 2, handled=thanked)), WHY)
    text, blocks, _ = message([card], DAYS, to_owner=True)
    assert blocks == blocks_snapshot and reading(text, blocks) == text_snapshot
    labels = [b["text"]["text"] for b in every_button(blocks)]
    assert "Record check-in" in labels and "Mark thanked" not in labels


def test_the_fallback_is_one_clause_per_client_with_what_to_do(text_snapshot):
    cards = [one(case, nudge_id=i + 1, name=name) for i, (case, name) in enumerate(
        [("at_risk", "Vantage Foods"), ("quiet", "Northwind Labs"), ("unanswered", "Acme Corp"),
         ("thank", LONG_NAME), ("promise_late", "Globex")])]
    text, _, _ = message(cards, DAYS, to_owner=True)
    assert text == text_snapshot
    head, *clauses = text.split("\n")
    assert head == "5 clients need attention:" and len(clauses) == 5
    for clause in clauses:
        assert len(clause.removeprefix("• ")) <= 120, clause
        assert clause.rstrip(".").count(". ") >= 1, f"what happened, then what to do: {clause}"
    assert "Northwind Labs: no word from them since 4 Nov. Call Hugo Moreau." in text


@pytest.mark.parametrize("case", sorted(FACTS))
def test_a_clause_stays_within_120_characters_whatever_the_name(case):
    text, _, _ = message([one(case, name=LONG_NAME)], DAYS)
    assert len(text) <= 120, text


VERBS = {"Log", "Record", "Mark", "View", "Snooze…"}


@pytest.mark.parametrize("case", sorted(FACTS))
def test_every_button_names_what_it_does_and_a_permanent_one_asks_first(case):
    _, blocks, _ = message([one(case)], DAYS)
    for button in every_button(blocks):
        label = button["text"]["text"]
        assert label.isdigit() or label.split()[0] in VERBS, label  # a goal's 1–10 answer a question
        if button["action_id"] == "nudge_not_relevant":
            confirm = button["confirm"]
            assert confirm["title"]["text"] == "Mark as not relevant?" and "can't be undone" in confirm["text"]["text"]
            assert len(confirm["text"]["text"]) <= 300 and len(confirm["confirm"]["text"]) <= 30
        else:
            assert "confirm" not in button


INTERNAL = re.compile(r"overdue|outreach unanswered|feedback ask|Waiting for a card|\d+ more reasons?|chosen today|"
                      r"\d{4}-\d\d-\d\d|\d{4}-W\d\d|/client checkin .* done", re.IGNORECASE)


@pytest.mark.parametrize("case", sorted(FACTS))
def test_no_internal_words_reach_people(case):
    text, blocks, _ = message([one(case)], DAYS, to_owner=True)
    shown = "\n".join(text_lines(blocks))
    assert not INTERNAL.search(text), text
    assert not INTERNAL.search(shown), shown


def test_days_read_the_same_in_the_card_and_its_notification():
    text, blocks, _ = message([one("unanswered")], DAYS, to_owner=True)
    assert "since 2 Dec" in text and "since 2 Dec" in "\n".join(text_lines(blocks))
    last_year = Days(LONDON, 2027)
    text, _, _ = message([one("unanswered")], last_year, to_owner=True)
    assert "since 2 Dec 2026" in text


def test_a_name_can_never_ping_or_smuggle_a_link():
    name = "<!channel> Evil <https://evil.test|click here>"
    card = CardView((view("quiet", name=name),), WHY, note="<!here> 3 more waiting")
    text, blocks, _ = message([card], DAYS)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text, "the notification escapes it"
    mrkdwn = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert not any("<!" in t or "<https" in t for t in mrkdwn), mrkdwn
    confirm = next(e for e in every_button(blocks) if e["action_id"] == "nudge_not_relevant")["confirm"]
    assert confirm["text"]["type"] == "plain_text", "shown literally"
    assert {"type": "text", "text": name, "style": {"bold": True}} in blocks[0]["elements"][0]["elements"]
