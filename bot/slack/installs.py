"""Many workspaces from one deployment.

Installations and OAuth state live in Rapport's own database through slack_sdk's SQLAlchemy stores (tables
made by migration 0006). Requests are authorised by Bolt from those stores; the scheduler, which has no
request, finds each workspace's bot token here, rotating it first when it is about to expire. Uninstalling
(or revoking the bot token) deletes the tokens at once, stops that workspace's nudges, and starts the grace
period after which its data is erased (`RAPPORT_UNINSTALL_GRACE_DAYS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_bolt import BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.settings import Settings, SettingsError
from bot.slack.tokens import EncryptedInstallationStore, TokenCipher, TokenKeyError, check_stored_tokens
from storage.erasure import erase_workspace
from storage.outbox import drop_unsent_nudges
from storage.workspaces import joined_grid, workspaces_for_install, workspaces_uninstalled_before

log = logging.getLogger(__name__)

# The manifest's bot scopes (manifest.yml says why each is needed).
SCOPES = ["commands", "chat:write", "chat:write.public", "im:write", "users:read", "channels:read", "groups:read",
          "channels:history", "groups:history", "im:history", "files:write"]
STATE_SECONDS = 600
ROTATE_MINUTES_BEFORE_EXPIRY = 120
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def bot_token_authorize(token: str) -> Callable[..., AuthorizeResult]:
    """Single-workspace authorisation that never asks Slack: the configured bot token, for the team the verified
    request names. Bolt's default checks the token with auth.test at start-up (and again per process), so a Slack
    outage during a deploy would take the app down; acknowledging must never wait for Slack. (Bolt passes the
    arguments by name.)"""

    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token, user_id=user_id)

    return authorize


def token_team(settings: Settings) -> tuple[str, str | None] | str | None:
    """Single-workspace mode: (team id, enterprise id) the bot token belongs to, from auth.test; a sentence saying
    why Slack could not tell; or None outside single-workspace mode."""
    if settings.oauth or not settings.slack_bot_token:
        return None
    try:
        reply = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=5).auth_test()
    except SlackApiError as exc:
        return str(exc.response.get("error") or "an error from Slack")
    except (SlackClientError, OSError) as exc:
        return f"Slack did not answer ({type(exc).__name__})"
    team = reply.get("team_id")
    if not isinstance(team, str) or not team:
        return "auth.test named no team"
    enterprise = reply.get("enterprise_id")
    return team, enterprise if isinstance(enterprise, str) and enterprise else None


def installation_store(settings: Settings, engine: Engine) -> EncryptedInstallationStore:
    """slack_sdk's store in DATABASE_URL, every token in it encrypted with RAPPORT_SECRET_KEY."""
    assert settings.slack_client_id is not None
    return EncryptedInstallationStore(
        SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine, logger=log),
        TokenCipher(settings.secret_keys))


def oauth_settings(settings: Settings, engine: Engine,
                   on_installed: Callable[[Installation], None]) -> OAuthSettings:
    def success(args: SuccessArgs) -> BoltResponse:
        on_installed(args.installation)
        return args.default.success(args)

    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=SCOPES,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installation_store(settings, engine),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log),
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE_EXPIRY,
        callback_options=CallbackOptions(success=success, failure=lambda args: args.default.failure(args)),
    )
    # OAuthSettings builds its authorizer without a Web API client, so token rotation would always call
    # slack.com; this one is the same authorizer talking to SLACK_API_URL.
    oauth.authorize = InstallationStoreAuthorize(
        logger=log, client_id=oauth.client_id, client_secret=oauth.client_secret,
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE_EXPIRY, installation_store=oauth.installation_store,
        client=WebClient(base_url=settings.slack_api_url, timeout=10))
    return oauth


def verify_secret_key(settings: Settings, engine: Engine) -> None:
    """OAuth mode: refuse to start, naming the variable, when RAPPORT_SECRET_KEY cannot open the stored tokens
    (never a crash loop that prints one)."""
    if not settings.oauth:
        return
    try:
        check_stored_tokens(engine, TokenCipher(settings.secret_keys))
    except TokenKeyError as exc:
        raise SettingsError(str(exc)) from None


class WorkspaceTokens:
    """Each installed workspace's bot token, for work that does not come from a request (the scheduler)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        self.store = installation_store(settings, engine)
        self.rotator = TokenRotator(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                                    client=WebClient(base_url=settings.slack_api_url, timeout=10))

    def _find(self, enterprise_id: str | None, team_id: str) -> Installation | None:
        found = self.store.find_installation(enterprise_id=enterprise_id, team_id=team_id)
        if found is None and enterprise_id:  # an organisation-wide install covers every team in it
            found = self.store.find_installation(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
        return found

    def bot_token(self, enterprise_id: str | None, team_id: str) -> str | None:
        installation = self._find(enterprise_id or None, team_id)
        if installation is None:
            return None
        if installation.bot_refresh_token:
            rotated = self.rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY)
            if rotated is not None:
                self.store.save(rotated)
                installation = rotated
        return installation.bot_token


def bot_token_finder(store: InstallationStore) -> Callable[[str | None, str], str | None]:
    """A workspace's stored bot token (enterprise id or None, team id), for calls about a workspace other than the
    one a request came from (a Slack Connect message recorded for several workspaces). None when it has none."""

    def token_for(enterprise_id: str | None, team_id: str) -> str | None:
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None and enterprise_id:  # an organisation-wide install covers every team in it
            bot = store.find_bot(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
        return bot.bot_token if bot is not None else None

    return token_for


def mark_uninstalled(session: Session, enterprise_id: str | None, team_id: str | None, now: datetime) -> int:
    """Stop nudging the workspaces an installation covered; returns how many there were."""
    if not team_id and not enterprise_id:  # names no installation: never read it as "every workspace"
        log.warning("uninstall event without a team or enterprise id; ignored")
        return 0
    workspaces = workspaces_for_install(session, enterprise_id, team_id)
    for workspace in workspaces:
        workspace.uninstalled_at = workspace.uninstalled_at or now
        drop_unsent_nudges(session, workspace.id, "the app was uninstalled")
    return len(workspaces)


def mark_installed(session: Session, enterprise_id: str | None, team_id: str | None) -> None:
    """Installed again within the grace period: everything is as it was."""
    if not team_id and not enterprise_id:
        return
    for workspace in workspaces_for_install(session, enterprise_id, team_id):
        workspace.uninstalled_at = None


def grid_migration_started(session: Session, team_id: str | None, now: datetime) -> int:
    """Slack has begun moving a team into an Enterprise Grid org (grid_migration_started): nothing is posted there
    until it is done (Slack asks apps to stop calling its API for that workspace meanwhile). Planning goes on, so
    what falls due meanwhile is posted afterwards. Returns how many workspaces that paused (0 or 1)."""
    if not team_id:
        return 0
    workspaces = workspaces_for_install(session, None, team_id)
    for workspace in workspaces:
        workspace.grid_migration_at = workspace.grid_migration_at or now
    return len(workspaces)


def grid_migration_finished(session: Session, team_id: str | None, enterprise_id: str | None) -> int:
    """The team is in the org now (grid_migration_finished): it keeps its clients and history under the org's id,
    and posting resumes."""
    if not team_id:
        return 0
    workspaces = workspaces_for_install(session, None, team_id)
    for workspace in workspaces:
        if enterprise_id:
            joined_grid(workspace, enterprise_id)
        workspace.grid_migration_at = None
    return len(workspaces)


def erase_uninstalled(session: Session, now: datetime, grace_days: int) -> int:
    """Erase every workspace uninstalled longer ago than the grace period; returns how many."""
    expired = workspaces_uninstalled_before(session, now - timedelta(days=grace_days))
    for workspace in expired:
        log.info("erasing workspace %s (uninstalled %s)", workspace.team_id, workspace.uninstalled_at)
        erase_workspace(session, workspace)
    return len(expired)
