"""Which installations of Rapport an event concerns.

Slack delivers an event once per app, listing one installation in `authorizations` even when several installed
workspaces can see it (a Slack Connect channel shared between two organisations that both installed Rapport);
apps.event.authorizations.list names them all. That method needs an app-level token (`xapp-…`) with
`authorizations:read` (SLACK_AUTHORIZATIONS_TOKEN); without one, the caller decides what to trust instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.text import payload_text

log = logging.getLogger(__name__)

MAX_PAGES = 10  # an event visible to more than a thousand installations is not one Rapport needs


@dataclass(frozen=True)
class Installation:
    """One installation of Rapport, as Slack lists it: a team, or (team None) an organisation-wide install on
    Enterprise Grid."""

    enterprise_id: str | None
    team_id: str | None

    def covers(self, enterprise_id: str | None, team_id: str) -> bool:
        """Whether this installation is the one of the workspace (enterprise_id '' or None outside Grid). A team's id
        is its own for good, even once Slack moves it into an Enterprise Grid org (PRODUCT.md §8): a team-level
        installation is matched by it alone."""
        if self.team_id:
            return self.team_id == team_id
        return bool(self.enterprise_id) and self.enterprise_id == enterprise_id


def installations_in(entries: Any) -> list[Installation]:
    """Installations from an `authorizations` list (an event's, or apps.event.authorizations.list's)."""
    if not isinstance(entries, list):
        return []
    found = (Installation(payload_text(e.get("enterprise_id")), payload_text(e.get("team_id"))) for e in entries[:1000]
             if isinstance(e, dict))
    return [i for i in found if i.team_id or i.enterprise_id]


Lister = Callable[[str], "list[Installation] | None"]  # an event_context's installations; None: Slack did not say


def authorizations_lister(api_url: str, app_token: str, timeout: int = 5) -> Lister:
    client = WebClient(token=app_token, base_url=api_url, timeout=timeout)

    def listed(event_context: str) -> list[Installation] | None:
        found: list[Installation] = []
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                reply = client.apps_event_authorizations_list(event_context=event_context, cursor=cursor,
                                                              limit=100)
                found += installations_in(reply.get("authorizations"))
                cursor = (reply.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except (SlackApiError, SlackClientError, OSError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("apps.event.authorizations.list failed (%s): trusting the linked channels instead", error)
            return None
        return found

    return listed
