"""Events about the app itself: uninstalled, or its tokens revoked (only in OAuth mode)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk.oauth.installation_store import InstallationStore
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.slack.installs import mark_uninstalled


def register(app: App, session_factory: sessionmaker[Session], store: InstallationStore, clock: Clock) -> None:
    def stop(context: BoltContext) -> None:
        org_wide = bool(context.is_enterprise_install)
        with session_factory.begin() as session:
            mark_uninstalled(session, context.enterprise_id, None if org_wide else context.team_id, clock())

    @app.event("app_uninstalled")
    def on_uninstalled(context: BoltContext) -> None:
        store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        stop(context)

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        users = tokens.get("oauth") if isinstance(tokens.get("oauth"), list) else []
        for user_id in users:
            if isinstance(user_id, str):
                store.delete_installation(enterprise_id=context.enterprise_id, team_id=context.team_id,
                                          user_id=user_id)
        if tokens.get("bot"):
            store.delete_bot(enterprise_id=context.enterprise_id, team_id=context.team_id)
            stop(context)  # without its bot token Rapport can post nothing there
