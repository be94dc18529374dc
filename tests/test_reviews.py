"""Monthly reviews (PRODUCT.md §4.12): a scripted month end to end through signed commands, captured Slack events
and sweeps; freezing at the month's end; the owners' first-workday message; the CSV; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.cli import main
from bot.reviews.export import COLUMNS, write_reviews
from bot.reviews.figures import Rules, compute
from bot.reviews.freeze import prepare_page, store_page
from bot.reviews.months import last_full_key, month_of
from bot.reviews.render import SECTIONS
from storage.erasure import delete_client
from storage.models import Client, Goal, GoalCheck, ReviewMonth, Workspace
from tests.conftest import buttons
from tests.helpers import client_named
from tests.test_capture import SHARED, _setup, message
from tests.test_sweep import posts, run_sweep, words

UTC_ZONE = ZoneInfo("UTC")


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _goal(rapport, name: str, confidences: list[tuple[datetime, int]]) -> None:
    """The goals commands are built in parallel: a goal and its weekly answers, written as they would be."""
    client = client_named(rapport.database, name)
    assert client is not None
    with rapport.database.sessions.begin() as session:
        goal = Goal(workspace_id=client.workspace_id, client_id=client.id, owner_id=client.owner_id,
                    what="cut onboarding to a week", due_on=date(2027, 1, 29), odds=70, created_at=at(2),
                    created_by="UANA", confidence=confidences[-1][1], confidence_at=confidences[-1][0])
        session.add(goal)
        session.flush()
        session.add_all(GoalCheck(workspace_id=client.workspace_id, goal_id=goal.id, confidence=c, at=when, by="UANA")
                        for when, c in confidences)


def _section(text: str, title: str) -> list[str]:
    """The bullet lines under one section heading of a review, as a person reads them."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    following = [i for i, line in enumerate(lines) if i >= start and line in SECTIONS]
    end = following[0] if following else len(lines)
    return [line for line in lines[start:end] if line and not line.startswith("Frozen") and
            not line.startswith("Counted") and not line.startswith("Worked")]


def _script_november(rapport) -> None:
    rapport.clock.now = at(2, 9)
    _setup(rapport)  # Acme Corp, linked to a Slack Connect channel and an internal one
    rapport.command("add Globex")  # a client with a quiet month
    # a question answered in 3 business hours, and one never answered
    message(rapport, "UJANE", at(2, 10))
    message(rapport, "UANA", at(2, 13))
    message(rapport, "UJANE", at(10, 11))
    # a promise kept late and one missed; an issue opened and resolved
    assert "Promised" in rapport.command("promise acme corp the revised deck by 2026-11-06").text
    assert "Promised" in rapport.command("promise acme corp the quarterly report by 2026-11-20").text
    rapport.clock.now = at(3)
    assert "Open issue" in rapport.command("issue acme corp invoices show the wrong VAT").text
    rapport.clock.now = at(5)
    # touches typed from both sides (ours while the issue was open: a status update)
    assert "Logged call" in rapport.command("log acme corp call from 2026-11-04").text
    assert "Logged email" in rapport.command("log acme corp email to 2026-11-04").text
    assert "resolved" in rapport.command("resolved acme corp").text.lower()
    run_sweep(rapport, at(9, 8))  # the deck is overdue: a warning sign the sweep records
    rapport.clock.now = at(9, 11)
    assert "kept" in rapport.command("kept acme corp the revised deck").text.lower()
    # a goal whose confidence falls from 8 to 5 within two weeks: at risk
    _goal(rapport, "Acme Corp", [(at(4), 8), (at(11), 5)])
    run_sweep(rapport, at(23, 10))


def test_a_scripted_month_shows_every_figure_in_order_and_what_went_wrong(capturing):
    rapport = capturing
    _script_november(rapport)
    rapport.clock.now = at(1, 10, month=12)  # Tuesday 1 December, the month's first workday
    run_sweep(rapport, rapport.clock.now)
    review = rapport.command("review acme corp 2026-11").text
    heads = [line for line in review.splitlines() if line in SECTIONS]
    assert heads == list(SECTIONS)
    assert "Monthly review · Acme Corp · November 2026" in review
    contact = _section(review, "Contact")
    # captured: 2 from them, 1 from us; typed: a call from them, an email from us
    assert contact[0].startswith("Touches from them: 3 (last month 0, 3-month average 0)")
    assert contact[1].startswith("Touches from us: 2 (last month 0, 3-month average 0)")
    assert "3 business hours (1 answer)" in contact[2]
    assert contact[3] == "Questions left unanswered: 1"
    assert _section(review, "Commitments") == [
        "Promises due: 0 kept on time, 1 kept late, 1 missed",
        "Issues: 1 opened, 1 resolved, 0 open longer than 7 days",
        "Status updates: 1 owed, 1 given",
    ]
    goals = _section(review, "Goals")
    assert goals[0] == "Met this month: 0 · missed: 0 · at risk: 1"
    assert "cut onboarding to a week" in goals[1] and "stated odds 70%" in goals[1] and "confidence 5/10" in goals[1]
    assert "falling (8 → 5), at risk" in goals[1]
    health = _section(review, "Health")
    assert health[0].startswith("This month: ") and health[1].startswith("Six months: — → — → — → — → — → ")
    assert len(health) == 2 + 8  # the eight signals, against last month
    assert _section(review, "What went wrong") == [
        "Promise kept late: the revised deck (due Fri 06 Nov 2026, kept Mon 09 Nov 2026)",
        "Promise missed: the quarterly report (due Fri 20 Nov 2026)",
        "Question left unanswered: asked Tue 10 Nov 2026",
        "Goal at risk: cut onboarding to a week",
    ]
    assert _section(review, "Next") == ["Promise: the quarterly report (due Fri 20 Nov 2026)",
                                        "Next check-in: none set"]
    assert "Frozen when the month ended" in review

    quiet = rapport.command("review globex 2026-11").text
    assert [line for line in quiet.splitlines() if line in SECTIONS] == list(SECTIONS)
    assert _section(quiet, "Contact")[:2] == ["Touches from them: 0 (last month 0, 3-month average 0)",
                                             "Touches from us: 0 (last month 0, 3-month average 0)"]
    assert _section(quiet, "Commitments")[0] == "Promises due: 0 kept on time, 0 kept late, 0 missed"
    assert _section(quiet, "What went wrong") == ["nothing"]

    # the owner's first-workday message: one, listing both reviews, each with Open and Share
    sent = [m for m in posts(rapport) if "Your monthly reviews" in words(m)]
    assert len(sent) == 1
    labels = [(e["text"]["text"], e["value"]) for block in sent[0]["blocks"] if block["type"] == "actions"
              for e in block["elements"]]
    assert [label for label, _ in labels] == ["Open", "Share with the client"] * 2


def test_a_frozen_month_does_not_move_when_the_data_changes(capturing):
    rapport = capturing
    _script_november(rapport)
    run_sweep(rapport, at(1, 10, month=12))
    rapport.clock.now = at(2, 10, month=12)
    before = rapport.command("review acme corp 2026-11").text
    # history rewritten after the month ended: a complaint dated in November, the missed promise kept
    rapport.command("log acme corp complaint 2026-11-25")
    rapport.command("kept acme corp the quarterly report")
    after = rapport.command("review acme corp 2026-11").text
    assert after == before
    client = client_named(rapport.database, "Acme Corp")
    with rapport.database.sessions() as session:
        live = compute(session, [session.get(Client, client.id)], "2026-11", at(1, month=12), Rules(UTC_ZONE))
        frozen = session.scalars(select(ReviewMonth).where(ReviewMonth.client_id == client.id)).one()
    assert [s["kind"] for s in live[client.id]["wrong"]["signs"]] == ["complaint"]  # worked out now, it would move
    assert json.loads(frozen.figures)["wrong"]["signs"] == []


def test_the_current_month_is_shown_so_far_and_bad_months_are_refused(rapport):
    rapport.clock.now = at(16, 15)
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from today")
    now = rapport.command("review acme corp 2026-11").text
    assert "November 2026, so far" in now and "Touches from them: 1" in now and "Counted up to now" in now
    default = rapport.command("review acme corp").text
    assert "October 2026" in default and "Touches from them: 0" in default
    for bad, says in (("2026-13", "is not a month"), ("next month", "is not a month"),
                      ("2026-12", "has not begun yet")):
        reply = rapport.command(f"review acme corp {bad}").text
        assert says in reply and "/client review <client> [<YYYY-MM>]" in reply
    assert "Did you mean Acme Corp?" in rapport.command("review acme crop").text


def test_freezing_is_done_once_per_month_and_a_second_sweep_adds_nothing(rapport):
    rapport.clock.now = at(16, 15)
    rapport.command("add Acme Corp")
    dry = run_sweep(rapport, at(1, 10, month=12), dry_run=True)  # says what it would plan, freezes nothing
    assert dry.planned.planned == {"reviews": 1}
    with rapport.database.sessions() as session:
        assert session.scalars(select(ReviewMonth)).first() is None
    assert run_sweep(rapport, at(1, 10, month=12)).planned.planned == {"reviews": 1}
    assert run_sweep(rapport, at(1, 11, month=12)).planned.planned == {}
    with rapport.database.sessions() as session:
        rows = list(session.scalars(select(ReviewMonth)))
    assert [(r.month, r.version) for r in rows] == [("2026-11", 1)]
    sent = [m for m in posts(rapport) if "Your monthly reviews" in words(m)]
    assert len(sent) == 1
    opened = rapport.click(next(b for b in buttons_of(sent[0]) if b["action_id"] == "review_open"))
    assert "Monthly review · Acme Corp · November 2026" in opened.text
    # later months show the earlier ones as they were frozen, even had the rules changed since
    with rapport.database.sessions.begin() as session:
        row = session.scalars(select(ReviewMonth)).one()
        figures = json.loads(row.figures)
        figures["health"]["months"][-1]["label"] = "Deep"
        row.figures = json.dumps(figures)
    rapport.clock.now = at(2, 10, month=12)
    december = rapport.command("review acme corp 2026-12").text
    assert "Six months: — → — → — → — → Deep → " in december


def test_sharing_posts_the_review_and_its_chart_into_the_shared_channel_only(capturing):
    rapport = capturing
    _script_november(rapport)
    rapport.fake.channels["CGLOBEX"] = {"is_member": True, "is_ext_shared": False}
    rapport.command("link globex <#CGLOBEX|globex-team>")
    rapport.command("add Initech")  # nothing linked
    run_sweep(rapport, at(1, 10, month=12), digest=None)
    rapport.clock.now = at(1, 11, month=12)
    monthly = next(m for m in posts(rapport) if "Your monthly reviews" in words(m))
    share = {b["value"]: b for b in buttons_of(monthly) if b["action_id"] == "review_share"}
    acme, globex = (client_named(rapport.database, n).id for n in ("Acme Corp", "Globex"))
    initech = client_named(rapport.database, "Initech").id

    refused = rapport.click(share[f"{acme}:2026-11"], user="UBEN")  # neither the owner nor an admin
    assert "Only Acme Corp's owner or a workspace admin can share its review" in refused.text
    assert not rapport.fake.messages.get(SHARED) or all("Our month together" not in words(m)
                                                       for m in rapport.fake.messages[SHARED])

    done = rapport.click(share[f"{acme}:2026-11"])
    assert "Shared Acme Corp's review of November 2026" in done.text
    posted = [m for m in rapport.fake.messages[SHARED] if "Our month together" in words(m)]
    assert len(posted) == 1
    shown = words(posted[0])
    assert "November 2026" in shown and "Promise missed: the quarterly report" in shown
    assert "What went wrong" in shown and "Warning sign" not in shown  # worded for them
    assert "Touches from you:" in shown and "Touches from us:" in shown and "from we" not in shown
    files = rapport.fake.shared_files[SHARED]
    assert [f.filename for f in files] == ["rapport-review-acme-corp-2026-11.png"]
    assert files[0].data.startswith(b"\x89PNG")

    internal = rapport.click({"action_id": "review_share", "value": f"{globex}:2026-11"})
    assert "not shared with their organisation" in internal.text
    assert "/client link Globex #channel" in internal.text
    nowhere = rapport.click({"action_id": "review_share", "value": f"{initech}:2026-11"}, user="UADMIN")
    assert "No channel is linked to Initech" in nowhere.text
    assert "CGLOBEX" not in rapport.fake.shared_files
    assert "out of date" in rapport.click({"action_id": "review_share", "value": "12:nope"}).text

    # the weekly digest counts last month's reviews shared
    run_sweep(rapport, at(7, 10, month=12), digest=(0, time(9)))
    digest = next(m for m in posts(rapport) if m["text"].startswith("Weekly digest"))
    assert "1 of last month's 3 reviews were shared with the client." in words(digest)


def buttons_of(message: dict) -> list[dict]:
    return [e for block in message["blocks"] if block["type"] == "actions" for e in block["elements"]]


__all__ = ["buttons", "timedelta"]


def _csv(rapport, key: str, now: datetime, only: str | None = None) -> list[dict[str, str]]:
    only_id = client_named(rapport.database, only).id if only else None
    with rapport.database.sessions() as session:
        workspace = session.scalars(select(Workspace)).one()
        client = session.get(Client, only_id) if only_id else None
        out = io.StringIO()
        write_reviews(session, workspace, key, now, Rules(UTC_ZONE), out, client)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_the_csv_has_the_same_columns_every_month_one_row_per_client(capturing, monkeypatch, tmp_path, capsys):
    rapport = capturing
    _script_november(rapport)
    run_sweep(rapport, at(1, 10, month=12))
    november = _csv(rapport, "2026-11", at(2, month=12))
    december = _csv(rapport, "2026-12", at(2, month=12))  # not over: worked out, so far
    assert list(november[0]) == list(december[0]) == list(COLUMNS)
    assert [r["client"] for r in november] == ["Acme Corp", "Globex"]
    acme = november[0]
    assert (acme["touches_in"], acme["touches_out"], acme["promises_kept_late"], acme["promises_missed"],
            acme["questions_unanswered"], acme["went_wrong"], acme["so_far"]) == ("3", "2", "1", "1", "1", "4", "no")
    assert acme["frozen_at"] and december[0]["so_far"] == "yes" and not december[0]["frozen_at"]
    assert [r["client"] for r in _csv(rapport, "2026-11", at(2, month=12), only="Globex")] == ["Globex"]

    # the command line: `rapport reviews --month 2026-11 --csv FILE`
    monkeypatch.setenv("DATABASE_URL", rapport.database.engine.url.render_as_string(hide_password=False))
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "reviews.csv"
    assert main(["reviews", "--month", "2026-11", "--client", "acme", "--csv", str(target)]) == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["client"] for r in rows] == ["Acme Corp"] and rows[0]["touches_in"] == "3"
    assert main(["reviews", "--month", "2026-13", "--csv", str(target)]) == 2
    assert "is not a month" in capsys.readouterr().err


def test_months_are_read_in_the_workspace_timezone():
    la = month_of("2026-11", ZoneInfo("America/Los_Angeles"))
    assert la.start == datetime(2026, 11, 1, 7, tzinfo=UTC)  # midnight PDT
    assert la.end == datetime(2026, 12, 1, 8, tzinfo=UTC)  # midnight PST: the clocks went back in between
    assert (la.first_day, la.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert month_of("2026-12", UTC_ZONE).end == datetime(2027, 1, 1, tzinfo=UTC)
    # 23:30 on 30 November in Los Angeles is already December in UTC: still November's last full month there
    assert last_full_key(datetime(2026, 12, 1, 7, 30, tzinfo=UTC), ZoneInfo("America/Los_Angeles")) == "2026-10"
    assert last_full_key(datetime(2026, 12, 1, 8, 30, tzinfo=UTC), ZoneInfo("America/Los_Angeles")) == "2026-11"


def test_a_review_shows_its_owners_calibration_as_it_stood_when_the_month_ended(rapport):
    rapport.clock.now = at(2, 10)
    rapport.command("add Acme Corp")
    for odds, outcome in ((90, "met"), (90, "missed"), (70, "met"), (70, "met")):
        rapport.command(f"goal acme corp a goal at {odds} by 2026-12-20 odds {odds}")
        rapport.command(f"goal acme corp {outcome}")
    four = rapport.command("review acme corp 2026-11").text
    assert "odds against what happened" not in four  # 4 closed goals say nothing about anyone's judgement yet
    rapport.command("goal acme corp the fifth by 2026-12-20 odds 50")
    rapport.command("goal acme corp missed")
    run_sweep(rapport, at(1, 10, month=12))  # November is frozen with five closed goals
    rapport.clock.now = at(2, 10, month=12)
    rapport.command("goal acme corp a sixth by 2026-12-20 odds 50")
    rapport.command("goal acme corp met")  # closed in December: not November's
    goals = _section(rapport.command("review acme corp 2026-11").text, "Goals")
    assert ("The owner's odds against what happened: said 90%: met 1 of 2; said 70%: met 2 of 2; "
            "said 50%: met 0 of 1") in goals
    december = _section(rapport.command("review acme corp 2026-12").text, "Goals")
    assert any("said 50%: met 1 of 2" in line for line in december)


def test_a_review_shows_the_projects_closeout_as_it_stood_when_the_month_ended(rapport):
    rapport.clock.now = at(16, 11)
    rapport.command("add Acme Corp")
    opened = rapport.command("closeout acme corp : phase 1 delivered")
    tick = {b["accessory"]["value"].split(":")[1]: b["accessory"] for b in opened.json()["blocks"]
            if b.get("accessory", {}).get("action_id") == "closeout_tick"}
    rapport.click(tick["delivered"], user="UANA")
    run_sweep(rapport, at(1, 10, month=12))  # November frozen: one of five ticked
    rapport.clock.now = at(2, 10, month=12)
    for item in ("issues", "access", "owner", "checkin"):
        rapport.click(tick[item], user="UBOB")
    november = _section(rapport.command("review acme corp 2026-11").text, "Next")
    assert ("Project closeout opened Mon 16 Nov 2026: 1 of 5 ticked; left: Open issues listed for them, "
            "Access and logins handed over, Who looks after them now, told, The next check-in agreed") in november
    december = _section(rapport.command("review acme corp 2026-12").text, "Next")
    assert "Project closeout opened Mon 16 Nov 2026: closed out Wed 02 Dec 2026" in december


def test_a_goal_at_risk_counts_in_the_reviews_health_as_on_the_card(rapport):
    rapport.clock.now = at(16, 10)
    rapport.command("add Acme Corp")
    rapport.command("log acme corp call from 2026-11-02")
    rapport.command("log acme corp complaint : the reports are late again")
    rapport.command("goal acme corp renew the contract by 2027-03-31")
    assert "This month: At risk" not in _section(rapport.command("review acme corp 2026-11").text, "Health")
    rapport.command("goal acme corp confidence 2")
    assert "Health: At risk" in rapport.command("status acme corp").text
    assert "This month: At risk" in _section(rapport.command("review acme corp 2026-11").text, "Health")


def test_two_shares_at_once_post_the_review_once_and_a_later_one_says_who_shared(capturing):
    rapport = capturing
    _script_november(rapport)
    run_sweep(rapport, at(1, 10, month=12), digest=None)
    rapport.clock.now = at(1, 11, month=12)
    acme = client_named(rapport.database, "Acme Corp").id
    button = {"action_id": "review_share", "value": f"{acme}:2026-11"}
    barrier = threading.Barrier(2)

    def share(user: str):
        barrier.wait()
        return rapport.click(button, user=user).text

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(share, ["UANA", "UADMIN"]))
    posted = [m for m in rapport.fake.messages[SHARED] if "Our month together" in words(m)]
    assert len(posted) == 1 and len(rapport.fake.shared_files[SHARED]) == 1
    assert sorted("Shared Acme Corp's review" in a for a in answers) == [False, True]
    # the one that came second is told who shared it (their post still on its way, or done)
    assert any("Already shared by" in a or "Already being shared by" in a for a in answers)
    assert "Already shared by" in rapport.click(button).text
    assert len([m for m in rapport.fake.messages[SHARED] if "Our month together" in words(m)]) == 1


def test_a_client_forgotten_while_its_page_is_frozen_is_left_out_and_the_rest_are_kept(rapport):
    rapport.clock.now = at(2, 10, month=10)
    rapport.command("add Acme Corp")
    rapport.command("add Globex")
    acme, globex = (client_named(rapport.database, n).id for n in ("Acme Corp", "Globex"))
    rules = Rules(UTC_ZONE)
    with rapport.database.sessions() as session:  # the page is worked out while only reading ...
        page = prepare_page(session, 1, "2026-10", at(1, 10), rules)
    with rapport.database.sessions.begin() as session:  # ... a forget commits meanwhile ...
        delete_client(session, session.get(Client, globex))
    with rapport.database.sessions.begin() as session:  # ... and storing the page still works
        assert store_page(session, 1, "2026-10", page, at(1, 10))
    with rapport.database.sessions() as session:
        assert [r.client_id for r in session.scalars(select(ReviewMonth))] == [acme]
