"""Which installed workspaces an event in a channel concerns (PRODUCT.md §5 "Tenants").

Everything captured belongs to the workspace whose link it concerns. A Slack Connect channel has one id in every
organisation, so several installed workspaces may each have linked it to a client of theirs; Slack delivers the
event once, for one of them (`authorizations`). The others come from apps.event.authorizations.list when
SLACK_AUTHORIZATIONS_TOKEN is set; without it (or when Slack does not answer) a message is recorded for every
installed workspace that linked that channel id: channel ids are unique across Slack, and a workspace that linked
the channel had the bot in it (`/client link` checks), so it sees the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.slack.authorizations import Installation, Lister
from storage.capture import linking_workspaces
from storage.db import reading


@dataclass(frozen=True)
class Tenant:
    """One workspace an event concerns, and whether the event was delivered for it (Bolt's client is its)."""

    workspace_id: int
    enterprise_id: str  # '' outside Enterprise Grid
    team_id: str
    delivered: bool


def _covered(installations: tuple[Installation, ...] | list[Installation], enterprise_id: str, team_id: str) -> bool:
    return any(i.covers(enterprise_id, team_id) for i in installations)


def tenants_of(sessions: sessionmaker[Session], channel: str, installations: tuple[Installation, ...],
               event_context: str | None, lister: Lister | None, *, trust_links: bool) -> list[Tenant]:
    """The installed workspaces that linked `channel` and that the event concerns: those it was delivered for,
    then any other Slack says can see it. `trust_links`: when Slack cannot say, the others count too (a message,
    which every member of the channel sees), or do not (a fact each workspace is told of itself)."""
    with reading(sessions) as session:
        linking = [(w.id, w.enterprise_id, w.team_id) for w in linking_workspaces(session, channel)]
    found = [Tenant(*row, delivered=_covered(installations, row[1], row[2])) for row in linking]
    delivered = [t for t in found if t.delivered]
    others = [t for t in found if not t.delivered]
    if not others:  # the common case: one workspace linked it; Slack is not asked
        return delivered
    listed = lister(event_context) if lister is not None and event_context else None
    if listed is not None:
        return delivered + [t for t in others if _covered(listed, t.enterprise_id, t.team_id)]
    return delivered + others if trust_links else delivered
