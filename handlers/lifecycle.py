"""Events about the app itself: uninstalled, or its tokens revoked; and the workspace being moved into an
Enterprise Grid org. Answered 200 in every mode (the manifest subscribes them in every mode, and Slack retries
anything else).

In OAuth mode the workspace's tokens are deleted; in either mode nothing more is planned or posted there and its
unsent nudges are dropped (bot/slack/installs.py). Single-workspace mode says so loudly: the deployment's one
workspace has gone quiet, and only whoever runs it can put it right.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk.oauth.installation_store import InstallationStore
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.slack.installs import grid_migration_finished, grid_migration_started, mark_uninstalled
from bot.slack.text import payload_text

log = logging.getLogger(__name__)


def register(app: App, session_factory: sessionmaker[Session], store: InstallationStore | None, clock: Clock) -> None:
    """`store`: OAuth mode's installation store, or None in single-workspace mode (SLACK_BOT_TOKEN)."""

    def stop(context: BoltContext, why: str) -> None:
        org_wide = bool(context.is_enterprise_install)
        team = None if org_wide else context.team_id
        with session_factory.begin() as session:
            stopped = mark_uninstalled(session, context.enterprise_id, team, clock())
        who = f"{context.enterprise_id or ''}/{team or '*'}".lstrip("/")
        if store is None:
            log.error("Slack says %s for workspace %s: Rapport posts nothing there from now on (unsent nudges "
                      "dropped, rapport_uninstalled_workspaces in /metrics). Install the app again, set "
                      "SLACK_BOT_TOKEN to its new bot token and restart; nudges resume with the first /client "
                      "command from that workspace", why, who)
        else:
            log.warning("Slack says %s for workspace %s: its tokens are deleted and %d workspace(s) get no more "
                        "nudges; its data is erased after the grace period unless it installs Rapport again",
                        why, who, stopped)

    @app.event("app_uninstalled")
    def on_uninstalled(context: BoltContext) -> None:
        if store is not None:
            store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        stop(context, "the app was uninstalled (app_uninstalled)")

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        tokens = raw if isinstance(raw := event.get("tokens"), dict) else {}
        users = raw if isinstance(raw := tokens.get("oauth"), list) else []
        if store is not None:
            for user_id in users:
                if isinstance(user_id, str):
                    store.delete_installation(enterprise_id=context.enterprise_id, team_id=context.team_id,
                                              user_id=user_id)
        if tokens.get("bot"):
            if store is not None:
                store.delete_bot(enterprise_id=context.enterprise_id, team_id=context.team_id)
            stop(context, "the bot token was revoked (tokens_revoked)")  # without it Rapport can post nothing there

    # Enterprise Grid (PRODUCT.md §8): the envelope's team_id is the workspace being moved, the event's enterprise_id
    # the org it joins. Slack asks apps to leave the workspace alone meanwhile; it keeps its team id after.
    @app.event("grid_migration_started")
    def on_grid_migration_started(body: dict[str, Any], event: dict[str, Any]) -> None:
        team, enterprise = payload_text(body.get("team_id")), payload_text(event.get("enterprise_id"))
        with session_factory.begin() as session:
            paused = grid_migration_started(session, team, clock())
        log.warning("Slack is moving workspace %s into Enterprise Grid org %s: Rapport posts nothing there until "
                    "the move is finished (%d workspace(s) paused; nudges wait, nothing is lost)",
                    team, enterprise, paused)

    @app.event("grid_migration_finished")
    def on_grid_migration_finished(body: dict[str, Any], event: dict[str, Any]) -> None:
        team, enterprise = payload_text(body.get("team_id")), payload_text(event.get("enterprise_id"))
        with session_factory.begin() as session:
            resumed = grid_migration_finished(session, team, enterprise)
        log.warning("Slack finished moving workspace %s into Enterprise Grid org %s: its clients and history are "
                    "kept, and posting there resumes (%d workspace(s))", team, enterprise, resumed)
