"""`rapport sweep` and the scheduler: APScheduler is only the clock; the work is the same sweep."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore

from bot.nudges.scheduler import make_scheduler, sweep_job
from bot.settings import Settings, parse_business_hours
from tests.cli import iso, monday_after, run


def test_sweep_command_prints_one_line(tmp_path, fake_slack):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run(["shell"], tmp_path, "/client add Acme Corp channel #acme\n", DATABASE_URL=db)
    monday = monday_after(days=30)  # past the 30-day quiet threshold of a client added today
    dry = run(["sweep", "--at", iso(monday), "--dry-run"], tmp_path, DATABASE_URL=db)
    assert dry.returncode == 0
    assert dry.stdout.strip().endswith("dry run, would plan 2 (digest 1, quiet 1); nothing written")
    assert fake_slack.calls == []
    real = run(["sweep", "--at", monday.strftime("%Y-%m-%dT%H:%M")], tmp_path, DATABASE_URL=db,
               SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.api_url)
    assert real.stdout.strip().splitlines() == [
        f"sweep at {monday:%Y-%m-%dT%H:%M}+00:00: planned 2 (digest 1, quiet 1); 1 card for 1 person; "
        "posted 2 in 2 messages"]
    assert list(fake_slack.messages) == ["CACME"]
    needs_token = run(["sweep"], tmp_path, DATABASE_URL=db)
    assert needs_token.returncode == 2 and "SLACK_BOT_TOKEN" in needs_token.stderr
    bad = run(["sweep", "--at", "next week"], tmp_path, DATABASE_URL=db)
    assert bad.returncode == 2 and "--at: 'next week'" in bad.stderr


def test_the_scheduler_is_a_utc_clock_that_never_overlaps(fake_slack):
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url=fake_slack.api_url,
                        sweep_minutes=7, business_hours=parse_business_hours("mon-sun 00:00-24:00"))
    scheduler = make_scheduler(settings, lambda: None, blocking=False)
    scheduler.start(paused=True)
    try:
        [job] = scheduler.get_jobs()
        assert scheduler.timezone == UTC
        assert job.trigger.interval.total_seconds() == 7 * 60
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert isinstance(scheduler._lookup_jobstore("default"), MemoryJobStore)
        assert isinstance(scheduler._lookup_executor("default"), ThreadPoolExecutor)
    finally:
        scheduler.shutdown(wait=False)


def test_the_sweep_job_posts_what_is_due(database, fake_slack):
    from tests.test_concurrency import _seed

    _seed(database, clients=300, owners=20)
    settings = Settings(database_url="sqlite://", slack_bot_token="xoxb-test", slack_api_url=fake_slack.api_url,
                        digest=None, daily_focus=15)
    sweep_job(database, settings, clock=lambda: datetime(2026, 11, 16, 10, tzinfo=UTC))()
    assert len(fake_slack.posted_nudge_ids()) == 300
