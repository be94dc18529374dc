"""The Slack app manifest declares what the code uses: scopes, events, the command and the shortcut."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.installs import SCOPES
from handlers.shortcuts import CALLBACK

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())


def test_the_bot_scopes_are_the_ones_oauth_asks_for():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(SCOPES)


def test_events_the_handlers_listen_for_are_subscribed():
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_uninstalled", "tokens_revoked", "message.channels", "message.groups",
            "channel_shared", "channel_unshared", "grid_migration_started", "grid_migration_finished"} <= events


def test_the_command_escapes_mentions_and_the_shortcut_is_log_to_rapport():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/client" and command["should_escape"] is True
    [shortcut] = MANIFEST["features"]["shortcuts"]
    assert (shortcut["name"], shortcut["type"], shortcut["callback_id"]) == ("Log to Rapport", "message", CALLBACK)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
