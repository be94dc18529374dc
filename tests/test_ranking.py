"""Focus ranking at its edges (PRODUCT.md §4.8): pure functions of what is due, value, recent cards and now."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import permutations
from zoneinfo import ZoneInfo

import pytest

from bot.nudges import ranking
from bot.nudges.ranking import Candidate, Reason, Workweek, explain, rank, workdays_between

MONDAY = datetime(2026, 11, 16, 10, tzinfo=UTC)
DAY = timedelta(days=1)
UTC_ZONE = ZoneInfo("UTC")
WEEKDAYS = frozenset(range(5))
WEEK = Workweek(UTC_ZONE, WEEKDAYS)
ORDER = ["at_risk", "unanswered", "promise", "quiet", "checkin", "thank", "winback"]


def _candidate(client_id: int, *kinds: str, value: int | None = 100, due: datetime = MONDAY,
               planned: datetime = MONDAY, not_relevant: int = 0, ignored: int = 0) -> Candidate:
    return Candidate(client_id, value, tuple(Reason(k, due, planned) for k in kinds), not_relevant, ignored)


def _order(candidates: list[Candidate], now: datetime = MONDAY, median: float = 100.0) -> list[int]:
    ranked = [rank(c, median, now, WEEK) for c in candidates]
    return [r.candidate.client_id for r in sorted(ranked, key=lambda r: r.order())]


def test_every_kind_against_every_other_follows_how_strongly_it_predicts_a_loss():
    for higher, lower in permutations(ORDER, 2):
        if ORDER.index(higher) > ORDER.index(lower):
            continue
        # equal value, equal lateness, both past their first workday (no lane 1), the lower-ranked kind given the
        # lower id so a tie would favour it
        friday = MONDAY - 3 * DAY
        assert _order([_candidate(2, higher, due=friday, planned=friday),
                       _candidate(1, lower, due=friday, planned=friday)]) == [2, 1], f"{higher} before {lower}"


def test_a_promise_is_said_on_its_first_workday_then_ranks_by_strength():
    # its card is about tomorrow: on its first workday it comes before stronger signals, as at-risk does
    assert _order([_candidate(1, "unanswered"), _candidate(2, "promise")]) == [2, 1]
    assert rank(_candidate(2, "promise"), 100, MONDAY, WEEK).lane == ranking.LANE_URGENT
    friday = MONDAY - 3 * DAY
    assert _order([_candidate(1, "unanswered", due=friday, planned=friday),
                   _candidate(2, "promise", due=friday, planned=friday)]) == [1, 2]
    assert _order([_candidate(1, "at_risk"), _candidate(2, "promise")]) == [1, 2]


def test_value_decides_between_equal_signals_and_unset_counts_as_the_median():
    assert _order([_candidate(1, "quiet", value=50), _candidate(2, "quiet", value=500)]) == [2, 1]
    # unset is the median (100): above 50, below 500
    assert _order([_candidate(1, "quiet", value=50), _candidate(2, "quiet", value=None),
                   _candidate(3, "quiet", value=500)]) == [3, 2, 1]
    # a high enough value outweighs a stronger signal in the ranked lane
    assert _order([_candidate(1, "unanswered", value=100), _candidate(2, "quiet", value=1000)]) == [2, 1]


def test_ties_go_to_the_client_that_has_waited_longer_then_to_the_lower_id():
    early = _candidate(9, "quiet", planned=MONDAY - 3 * DAY, due=MONDAY)  # the Friday before
    late = _candidate(3, "quiet", planned=MONDAY, due=MONDAY)
    waited = rank(early, 100, MONDAY, WEEK)
    assert waited.waited == 1
    # same value and reason: the one waiting a day longer scores higher (starvation) and comes first
    assert _order([late, early]) == [9, 3]
    assert _order([_candidate(7, "quiet"), _candidate(4, "quiet")]) == [4, 7]


def test_several_reasons_add_up():
    one = rank(_candidate(1, "quiet"), 100, MONDAY, WEEK)
    three = rank(_candidate(2, "quiet", "checkin", "thank"), 100, MONDAY, WEEK)
    assert three.score == pytest.approx(one.score * (0.4 + 0.25 + 0.15) / 0.4)
    assert three.top.kind == "quiet"


def test_overdue_raises_the_score_up_to_twice_but_never_past_a_stronger_signal():
    assert ranking.overdue_factor(MONDAY, MONDAY) == 1.0
    assert ranking.overdue_factor(MONDAY - 30 * DAY, MONDAY) == pytest.approx(1.5)
    assert ranking.overdue_factor(MONDAY - 400 * DAY, MONDAY) == 2.0
    # a quiet client 60 days overdue outranks a fresh unanswered one of the same value ...
    assert _order([_candidate(1, "unanswered"), _candidate(2, "quiet", due=MONDAY - 60 * DAY)]) == [2, 1]
    # ... but not a client at risk since Friday (ranked with the rest now: its first workday has passed)
    friday = MONDAY - 3 * DAY
    assert rank(_candidate(1, "at_risk", due=friday, planned=friday), 100, MONDAY, WEEK).lane == ranking.LANE_RANKED
    assert _order([_candidate(1, "at_risk", due=friday, planned=friday),
                   _candidate(2, "quiet", due=MONDAY - 400 * DAY)]) == [1, 2]


def test_fatigue_lowers_a_client_whose_cards_were_ignored_or_marked_not_relevant():
    fresh = rank(_candidate(1, "quiet"), 100, MONDAY, WEEK).score
    dismissed = rank(_candidate(2, "quiet", not_relevant=1), 100, MONDAY, WEEK).score
    ignored = rank(_candidate(3, "quiet", ignored=2), 100, MONDAY, WEEK).score
    assert dismissed == pytest.approx(fresh * 0.5) and ignored == pytest.approx(fresh * 0.75 ** 2)
    assert _order([_candidate(1, "quiet", not_relevant=1), _candidate(2, "quiet")]) == [2, 1]
    # ... and can sink it below a weaker signal
    assert _order([_candidate(1, "quiet", not_relevant=2), _candidate(2, "checkin")]) == [2, 1]


def test_starvation_lifts_a_client_that_waits_and_eight_workdays_put_it_ahead_of_all_but_new_risk():
    planned = MONDAY - 12 * DAY  # the Wednesday before last: 8 workdays ago
    starving = _candidate(1, "winback", value=1, planned=planned, due=planned)
    rich = _candidate(2, "quiet", value=10**6)
    risky = _candidate(3, "at_risk", value=1)  # a signal today
    ranked = rank(starving, 100, MONDAY, WEEK)
    assert (ranked.waited, ranked.lane) == (8, ranking.LANE_STARVING)
    assert _order([rich, starving, risky]) == [3, 1, 2]
    # a day earlier it is still ranked by its (tiny) expected loss
    assert _order([rich, starving], now=MONDAY - DAY) == [2, 1]
    # among the starving, the longest-waiting first, whatever its value
    older = _candidate(4, "winback", value=1, planned=planned - 7 * DAY, due=planned)
    richer = _candidate(5, "quiet", value=10**6, planned=planned, due=planned)
    assert _order([richer, older]) == [4, 5]


def test_workdays_skip_weekends_in_the_workspace_timezone():
    friday = datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert workdays_between(friday, friday + 3 * DAY, UTC_ZONE, WEEKDAYS) == 1  # to Monday
    assert workdays_between(friday, friday + 17 * DAY, UTC_ZONE, WEEKDAYS) == 11
    assert workdays_between(friday, friday, UTC_ZONE, WEEKDAYS) == 0
    # 23:30 UTC on Friday is already Saturday in Tokyo: Monday is one workday later there too, Sunday none
    late_friday = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert workdays_between(late_friday, late_friday + DAY, tokyo, WEEKDAYS) == 0
    assert workdays_between(late_friday, late_friday + 2 * DAY, tokyo, WEEKDAYS) == 1
    assert workdays_between(friday, friday + 3 * DAY, UTC_ZONE, frozenset(range(7))) == 3


def test_waiting_starts_on_the_first_workday_it_could_have_been_shown():
    week = Workweek(UTC_ZONE, WEEKDAYS, time(17))
    saturday = datetime(2026, 11, 21, 11, tzinfo=UTC)
    assert week.first_chance(saturday).isoformat() == "2026-11-23"
    assert week.waited(saturday, saturday + 2 * DAY) == 0 and week.waited(saturday, saturday + 3 * DAY) == 1
    evening = datetime(2026, 11, 16, 19, tzinfo=UTC)  # Monday, after business hours
    assert week.waited(evening, evening + DAY) == 0
    assert week.waited(MONDAY, MONDAY + DAY) == 1  # Monday 10:00 could have been shown that day


def test_an_at_risk_signal_leads_on_its_first_workday_then_ranks_with_the_rest():
    rich_quiet = _candidate(1, "quiet", value=10**6)
    fresh = _candidate(2, "at_risk", value=10)
    assert _order([rich_quiet, fresh]) == [2, 1]
    # not shown on its first workday (the budget went to other signals): from then on it is ranked by score
    assert rank(fresh, 100, MONDAY + DAY, WEEK).lane == ranking.LANE_RANKED
    assert _order([rich_quiet, fresh], now=MONDAY + DAY) == [1, 2]


def test_each_card_says_why_it_was_chosen():
    values = sorted([10, 20, 30, 40, 50, 60, 70, 80, 90, 1000, 2000])
    risky = rank(_candidate(1, "at_risk", value=2000), 50, MONDAY, WEEK)
    # the rule is named for what it is (issue 34): "2+ warning signs", not the health label "at risk"
    assert explain(risky, values, MONDAY) == "Why today: 2+ warning signs, top 10% by value"
    late = rank(_candidate(2, "quiet", "thank", value=None, due=MONDAY - 12 * DAY), 50, MONDAY, WEEK)
    # the card says what happened and since when; "overdue" and "1 more reason" are our machinery
    assert explain(late, values, MONDAY) == "Why today: gone quiet"
    planned = MONDAY - 14 * DAY
    starving = rank(_candidate(3, "checkin", value=10, planned=planned, due=planned), 50, MONDAY, WEEK)
    assert explain(starving, values, MONDAY) == "Why today: a check-in due, waited 10 workdays, the longest"
    tired = rank(_candidate(4, "quiet", value=90, ignored=1), 50, MONDAY, WEEK)
    assert explain(tired, values, MONDAY) == ("Why today: gone quiet, top 25% by value, "
                                              "though recent cards about them were set aside")
