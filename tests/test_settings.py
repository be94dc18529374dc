from __future__ import annotations

from datetime import time

import pytest

from bot.settings import SettingsError, load_settings
from tests.conftest import OTHER_KEY, SECRET_KEY


def test_nothing_configured_is_a_working_default():
    settings = load_settings({})
    assert settings.database_url == "sqlite:///rapport.db"
    assert settings.port == 3000 and settings.sweep_minutes == 15 and settings.scheduler is True
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.business_hours.days == frozenset(range(5))
    assert (settings.business_hours.start, settings.business_hours.end) == (time(9), time(17))


@pytest.mark.parametrize(("env", "named"), [
    ({"PORT": "http"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"DATABASE_URL": "::not a url::"}, "DATABASE_URL"),
    ({"RAPPORT_TIMEZONE": "Mars/Olympus"}, "RAPPORT_TIMEZONE"),
    ({"RAPPORT_BUSINESS_HOURS": "weekdays 9-5"}, "RAPPORT_BUSINESS_HOURS"),
    ({"RAPPORT_BUSINESS_HOURS": "mon-fri 17:00-09:00"}, "RAPPORT_BUSINESS_HOURS"),
    ({"RAPPORT_SWEEP_MINUTES": "0"}, "RAPPORT_SWEEP_MINUTES"),
    ({"RAPPORT_SCHEDULER": "maybe"}, "RAPPORT_SCHEDULER"),
    ({"RAPPORT_NUDGE_CHANNEL": "#general"}, "RAPPORT_NUDGE_CHANNEL"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
    ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
    ({"SLACK_CLIENT_ID": "123.456"}, "SLACK_CLIENT_SECRET"),
    ({"RAPPORT_DIGEST": "monday morning"}, "RAPPORT_DIGEST"),
    ({"RAPPORT_PUBLIC_URL": "rapport.example.com"}, "RAPPORT_PUBLIC_URL"),
    ({"RAPPORT_MAIL_DOMAIN": "not a domain"}, "RAPPORT_MAIL_DOMAIN"),
    ({"RAPPORT_MAIL_DOMAIN": "co.uk"}, "RAPPORT_MAIL_DOMAIN"),  # a public suffix: nobody's
    ({"RAPPORT_SMTP_PORT": "smtp"}, "RAPPORT_SMTP_PORT"),
    ({"RAPPORT_SMTP_PORT": "0"}, "RAPPORT_SMTP_PORT"),
])
def test_a_bad_value_stops_start_up_naming_the_variable(env, named):
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert message.startswith(named) and "\n" not in message


def test_heroku_postgres_urls_and_api_url_are_normalised():
    settings = load_settings({"DATABASE_URL": "postgres://u:p@db:5432/app", "SLACK_API_URL": "https://slack-gov.com/api",
                              "RAPPORT_BUSINESS_HOURS": "sat-sun 10:00-24:00"})
    assert settings.slack_api_url == "https://slack-gov.com/api/"
    assert settings.business_hours.days == frozenset({5, 6})


def test_serving_needs_the_slack_secrets():
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN"):
        load_settings({}).require_slack()
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack()
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).require_slack()
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).require_slack()


def test_oauth_mode_needs_its_pair_and_the_signing_secret_and_no_single_token():
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s",
             "RAPPORT_SECRET_KEY": SECRET_KEY}
    settings = load_settings(oauth)
    settings.require_slack()
    assert settings.oauth and settings.uninstall_grace_days == 30 and settings.command_workers == 1
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET"):
        load_settings({**oauth, "SLACK_SIGNING_SECRET": ""}).require_slack()
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID"):
        load_settings({**oauth, "SLACK_BOT_TOKEN": "xoxb-1"}).require_slack()
    with pytest.raises(SettingsError, match=r"^SLACK_APP_TOKEN is set with SLACK_CLIENT_ID"):
        load_settings({**oauth, "SLACK_APP_TOKEN": "xapp-1"}).require_slack()
    with pytest.raises(SettingsError, match=r"^RAPPORT_SECRET_KEY is not set: OAuth mode stores each workspace's"):
        load_settings({**oauth, "RAPPORT_SECRET_KEY": ""}).require_slack()


def test_a_secret_key_must_be_fernet_keys_and_is_never_echoed():
    assert load_settings({"RAPPORT_SECRET_KEY": f"{SECRET_KEY}, {OTHER_KEY}"}).secret_keys == (SECRET_KEY, OTHER_KEY)
    with pytest.raises(SettingsError, match=r"^RAPPORT_SECRET_KEY must be one or more Fernet keys") as refused:
        load_settings({"RAPPORT_SECRET_KEY": "hunter2-not-a-key"})
    assert "hunter2" not in str(refused.value)
    assert load_settings({"RAPPORT_METRICS_TOKEN": " t0ken "}).metrics_token == "t0ken"


def test_ranges_are_checked():
    for name, value in (("RAPPORT_UNINSTALL_GRACE_DAYS", "-1"), ("RAPPORT_COMMAND_WORKERS", "0"),
                        ("RAPPORT_DAILY_FOCUS", "0"), ("RAPPORT_DAILY_FOCUS", "101"), ("RAPPORT_REPLY_HOURS", "0"),
                        ("RAPPORT_UPDATE_EVERY", "0"), ("RAPPORT_UPDATE_EVERY", "21"),
                        ("RAPPORT_UPDATE_EVERY", "two")):
        with pytest.raises(SettingsError, match=rf"^{name}"):
            load_settings({name: value})
    assert load_settings({"RAPPORT_UPDATE_EVERY": "3"}).update_every == 3


def test_mail_settings_are_normalised_with_their_defaults():
    assert load_settings({}).smtp_port == 2525 and load_settings({}).public_url is None
    settings = load_settings({"RAPPORT_PUBLIC_URL": "https://rapport.example.com/",
                              "RAPPORT_MAIL_DOMAIN": "In.Example.COM", "RAPPORT_SMTP_PORT": "25",
                              "RAPPORT_MAILGUN_SIGNING_KEY": "key-1"})
    assert (settings.public_url, settings.mail_domain, settings.smtp_port, settings.mailgun_signing_key) == (
        "https://rapport.example.com", "in.example.com", 25, "key-1")
