"""Typed settings from the environment (and .env). A bad value stops start-up with one line naming it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.addresses import is_public_suffix, normalize_domain
from bot.logs import parse_level
from storage.db import DatabaseUrlError, normalize_url

DEFAULT_API_URL = "https://slack.com/api/"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsError(Exception):
    """One clear line that names the variable."""


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time


def business_time_between(start: datetime, end: datetime, hours: BusinessHours, tz: ZoneInfo) -> timedelta:
    """How much of [start, end) fell inside business hours, in the workspace's timezone: the reply rule and the
    monthly review's answer times (a question asked on Friday at 16:00 has waited two business hours by Monday at
    10:00 with 09:00–17:00)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, tzinfo=tz)
            closes = datetime.combine(day, hours.end, tzinfo=tz) if hours.end != time.max else \
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
            overlap = min(end, closes) - max(start, opens)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total



@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///rapport.db"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    # An app-level token with authorizations:read: which installations a Slack Connect event concerns (capture)
    slack_authorizations_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    port: int = 3000
    nudge_channel: str | None = None
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours(frozenset(range(5)), time(9), time(17))
    sweep_minutes: int = 15
    scheduler: bool = True
    digest: tuple[int, time] | None = (0, time(9))  # weekday (0 = Monday) and local time; None: no digest
    command_workers: int = 1
    uninstall_grace_days: int = 30
    daily_focus: int = 5  # clients a person is nudged about per workday at most (PRODUCT.md §4.8)
    reply_hours: int = 4  # business hours a client's message may wait for an answer from us (PRODUCT.md §4.9)
    update_every: int = 2  # business days between status updates owed on an open issue (PRODUCT.md §4.10)
    # Fernet keys, newest first: the first encrypts stored OAuth tokens, any of them decrypts (key rotation)
    secret_keys: tuple[str, ...] = ()
    metrics_token: str | None = None  # enables GET /metrics for requests bearing it
    # DEBUG, INFO, WARNING or ERROR; None: INFO for servers, WARNING for the commands a person reads (shell, import…)
    log_level: str | None = None
    # Capture from email (PRODUCT.md §4.15): where providers reach `serve`, the inbound address's domain, the SMTP
    # receiver's port, and Mailgun's webhook signing key (when set, Mailgun's posts must be signed with it)
    public_url: str | None = None
    mail_domain: str | None = None
    smtp_port: int = 2525
    mailgun_signing_key: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        return self.slack_client_id is not None

    def require_slack(self, need_signing_secret: bool = True) -> None:
        """What talking to Slack needs, checked only by the commands that talk to Slack."""
        if self.oauth:
            if not self.secret_keys:
                raise SettingsError("RAPPORT_SECRET_KEY is not set: OAuth mode stores each workspace's tokens "
                                    "encrypted with it. Generate one with: python -c \"from cryptography.fernet "
                                    "import Fernet; print(Fernet.generate_key().decode())\"")
            if self.slack_bot_token is not None:
                raise SettingsError("SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID: OAuth mode keeps each workspace's "
                                    "token in the database; unset SLACK_BOT_TOKEN (or SLACK_CLIENT_ID for one "
                                    "workspace)")
            if self.socket_mode:
                raise SettingsError("SLACK_APP_TOKEN is set with SLACK_CLIENT_ID: OAuth install needs HTTP; "
                                    "unset SLACK_APP_TOKEN")
        elif self.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) into .env")
        if need_signing_secret and self.slack_signing_secret is None and not self.socket_mode:
            raise SettingsError("SLACK_SIGNING_SECRET is not set: copy it from Basic Information in your Slack app")


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _token(env: Mapping[str, str], name: str, prefix: str) -> str | None:
    value = _optional(env, name)
    if value is not None and not value.startswith(prefix):
        raise SettingsError(f"{name} must start with {prefix!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def parse_business_hours(raw: str) -> BusinessHours:
    """'mon-fri 09:00-17:00', 'mon,wed,fri 08:30-18:00' or 'mon-sun 00:00-24:00'."""
    match = re.fullmatch(r"\s*([a-z,\-]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", raw.lower())
    if not match:
        raise ValueError("expected a form like 'mon-fri 09:00-17:00'")
    days: set[int] = set()
    for part in match.group(1).split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day in {part!r}: use {', '.join(DAYS)}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    h1, m1, h2, m2 = (int(g) for g in match.group(2, 3, 4, 5))
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError("hours must be 00:00 to 24:00")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError("the end of business hours must come after the start")
    return BusinessHours(frozenset(days), start, end)


def parse_digest(raw: str) -> tuple[int, time] | None:
    """'mon 09:00', or 'off'."""
    if raw.strip().lower() == "off":
        return None
    match = re.fullmatch(r"\s*([a-z]{3})\s+(\d{1,2}):(\d{2})\s*", raw.lower())
    if not match or match.group(1) not in DAYS or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ValueError("expected a day and a time like 'mon 09:00', or 'off'")
    return DAYS.index(match.group(1)), time(int(match.group(2)), int(match.group(3)))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    raw_url = _optional(env, "DATABASE_URL") or Settings.database_url
    try:
        normalize_url(raw_url)
    except DatabaseUrlError as exc:
        raise SettingsError(f"DATABASE_URL: {exc}") from None

    api_url = _optional(env, "SLACK_API_URL") or DEFAULT_API_URL
    if not re.match(r"https?://[^/\s]+", api_url):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, not {api_url!r}")
    if not api_url.endswith("/"):
        api_url += "/"

    tz_name = _optional(env, "RAPPORT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"RAPPORT_TIMEZONE: unknown timezone {tz_name!r} (use a name like Europe/London)") from None

    hours_raw = _optional(env, "RAPPORT_BUSINESS_HOURS")
    hours = Settings.business_hours
    if hours_raw is not None:
        try:
            hours = parse_business_hours(hours_raw)
        except ValueError as exc:
            raise SettingsError(f"RAPPORT_BUSINESS_HOURS: {exc}, not {hours_raw!r}") from None

    digest_raw = _optional(env, "RAPPORT_DIGEST")
    digest = Settings.digest
    if digest_raw is not None:
        try:
            digest = parse_digest(digest_raw)
        except ValueError as exc:
            raise SettingsError(f"RAPPORT_DIGEST: {exc}, not {digest_raw!r}") from None

    channel = _optional(env, "RAPPORT_NUDGE_CHANNEL")
    if channel is not None and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", channel):
        raise SettingsError(f"RAPPORT_NUDGE_CHANNEL must be a channel id like C0123ABCD, not {channel!r}")

    scheduler_raw = (_optional(env, "RAPPORT_SCHEDULER") or "on").lower()
    if scheduler_raw not in ("on", "off"):
        raise SettingsError(f"RAPPORT_SCHEDULER must be 'on' or 'off', not {scheduler_raw!r}")

    client_id = _optional(env, "SLACK_CLIENT_ID")
    client_secret = _optional(env, "SLACK_CLIENT_SECRET")
    if (client_id is None) != (client_secret is None):
        missing = "SLACK_CLIENT_SECRET" if client_secret is None else "SLACK_CLIENT_ID"
        raise SettingsError(f"{missing} is not set: OAuth mode needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")

    level_raw = _optional(env, "RAPPORT_LOG_LEVEL")
    try:
        log_level = parse_level(level_raw) if level_raw is not None else None
    except ValueError as exc:
        raise SettingsError(f"RAPPORT_LOG_LEVEL: {exc}, not {level_raw!r}") from None

    keys = tuple(k.strip() for k in (_optional(env, "RAPPORT_SECRET_KEY") or "").split(",") if k.strip())
    for key in keys:
        if not _is_fernet_key(key):
            raise SettingsError("RAPPORT_SECRET_KEY must be one or more Fernet keys (44 characters of url-safe "
                                "base64, comma-separated, newest first); generate one with: python -c \"from "
                                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"")

    public_url = _optional(env, "RAPPORT_PUBLIC_URL")
    if public_url is not None:
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[^\s?#]*)?", public_url):
            raise SettingsError(f"RAPPORT_PUBLIC_URL must be where mail providers reach rapport serve, like "
                                f"https://rapport.example.com, not {public_url!r}")
        public_url = public_url.rstrip("/")
    mail_domain_raw = _optional(env, "RAPPORT_MAIL_DOMAIN")
    mail_domain = normalize_domain(mail_domain_raw) if mail_domain_raw is not None else None
    if mail_domain_raw is not None and mail_domain is None:
        raise SettingsError(f"RAPPORT_MAIL_DOMAIN must be a domain like mail.example.com, not {mail_domain_raw!r}")
    if mail_domain is not None and is_public_suffix(mail_domain):
        raise SettingsError(f"RAPPORT_MAIL_DOMAIN must be a domain of yours like mail.example.com, not "
                            f"{mail_domain_raw!r}: that is a public suffix, under which anyone registers names")

    return Settings(
        database_url=raw_url,
        slack_bot_token=_token(env, "SLACK_BOT_TOKEN", "xoxb-"),
        slack_signing_secret=_optional(env, "SLACK_SIGNING_SECRET"),
        slack_app_token=_token(env, "SLACK_APP_TOKEN", "xapp-"),
        slack_authorizations_token=_token(env, "SLACK_AUTHORIZATIONS_TOKEN", "xapp-"),
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_api_url=api_url,
        port=_int(env, "PORT", 3000, 1, 65535),
        nudge_channel=channel,
        timezone=tz_name,
        business_hours=hours,
        sweep_minutes=_int(env, "RAPPORT_SWEEP_MINUTES", 15, 1, 1440),
        scheduler=scheduler_raw == "on",
        digest=digest,
        command_workers=_int(env, "RAPPORT_COMMAND_WORKERS", 1, 1, 64),
        uninstall_grace_days=_int(env, "RAPPORT_UNINSTALL_GRACE_DAYS", 30, 0, 3650),
        daily_focus=_int(env, "RAPPORT_DAILY_FOCUS", 5, 1, 100),
        reply_hours=_int(env, "RAPPORT_REPLY_HOURS", 4, 1, 80),
        update_every=_int(env, "RAPPORT_UPDATE_EVERY", 2, 1, 20),
        secret_keys=keys,
        metrics_token=_optional(env, "RAPPORT_METRICS_TOKEN"),
        log_level=log_level,
        public_url=public_url,
        mail_domain=mail_domain,
        smtp_port=_int(env, "RAPPORT_SMTP_PORT", 2525, 1, 65535),
        mailgun_signing_key=_optional(env, "RAPPORT_MAILGUN_SIGNING_KEY"),
    )


def _is_fernet_key(key: str) -> bool:
    """Checked without printing it: a settings error must never echo a secret."""
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True
