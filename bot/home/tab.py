"""App Home: the user's relationships, what needs attention first, within Slack's 100-block limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.card.client import client_card
from bot.card.commitments import describe
from bot.commitments.ledger import settle
from bot.home.goals import goals_section
from bot.home.mail import mail_block
from bot.nudges import ranking, rules
from bot.nudges.focus import NOT_RELEVANT, Scale, day_of, ranked_waiting, scale_of, top
from bot.nudges.messages import NudgeView as View
from bot.nudges.messages import not_relevant_confirm, said_of, snooze_menu
from bot.nudges.pace import Pace, pace_of
from bot.nudges.pace import describe as describe_pace
from bot.nudges.said import plural, summary
from bot.relationship.facts import is_quiet, is_unanswered, next_checkin, warning_window_start
from bot.relationship.health_data import health_of
from bot.relationship.kinds import WARNING_SIGNS
from bot.relationship.schedule import not_relevant
from bot.settings import Settings
from bot.slack import blocks as b
from bot.slack.caller import Context
from bot.slack.handled import already_handled
from bot.when import Days, WhenError, add_period, end_of_week, parse_period
from storage.clients import get_client, lock_client, owned_current_clients
from storage.commitments import client_id_of_commitment, get_commitment, owner_commitments
from storage.contacts import primary_contacts
from storage.focus import focus_days_on, waiting_for, waiting_nudges_of
from storage.models import Client, Contact, Workspace
from storage.nudges import clients_with_open_nudges, last_handled_nudge
from storage.paces import pace_of as pace_row
from storage.referrals import open_referral_counts
from storage.signs import clients_with_warning_signs

# Slack allows 100 blocks a view: 6 at the top (a notice among them); 2 a waiting client and 4 around them (20);
# 2 a commitment and 3 around them (19); goals 2; 2 a client and 3 around them (35): 82, room for a few more.
PAGE_SIZE = 16
ATTENTION_PAGE = 8
COMMITMENTS_SHOWN = 8
OPEN_WINDOW = timedelta(days=14)
WHAT_ROOM = 110  # characters of what happened, on a waiting client's line


@dataclass(frozen=True)
class Counts:
    quiet: int
    unanswered: int
    checkins_this_week: int
    to_thank: int
    warning_signs: int  # clients with 2+ warning signs in 30 days: the rule, not the health label

    def line(self) -> str:
        return (f"Your clients: {self.quiet} gone quiet · {self.unanswered} with no reply · "
                f"{plural(self.checkins_this_week, 'check-in')} due this week · "
                f"{plural(self.to_thank, 'referrer')} to thank · {self.warning_signs} with 2+ warning signs")


def home(session: Session, ctx: Context, settings: Settings, page: int = 1, attention_page: int = 1,
         notice: b.Reply | None = None) -> dict[str, object]:
    """`notice`: what became of the user's last click, when it did not do what they asked (the Home tab has no
    thread to answer in), shown at the top.

    The top says what today holds; then *Needs attention* (what waits for a card, ranked as focus ranks it); then
    promises and issues, goals, and the rest of the user's clients: a client is in one of those lists, not two."""
    now = ctx.now
    workspace = session.get(Workspace, ctx.workspace_id)
    assert workspace is not None
    scale = scale_of(session, workspace, settings.tz, settings.business_hours)
    days = Days.at(now, ctx.user_tz())
    clients = owned_current_clients(session, ctx.workspace_id, ctx.user_id)
    waiting_ids: set[int] = set()

    def ranked() -> Iterator[ranking.Ranked]:
        for one in ranked_waiting(session, ctx.workspace_id, ctx.user_id, now, scale):
            waiting_ids.add(one.candidate.client_id)
            yield one

    best, total = top(ranked(), max(1, attention_page) * ATTENTION_PAGE)
    pace = pace_of(pace_row(session, ctx.workspace_id, ctx.user_id), settings.daily_focus, scale.tz)
    signs = clients_with_warning_signs(session, ctx.workspace_id, WARNING_SIGNS, warning_window_start(now),
                                       rules.AT_RISK_SIGNS)
    thanks = open_referral_counts(session, ctx.workspace_id)
    week_ends = end_of_week(now, ctx.user_tz())
    counts = Counts(
        quiet=sum(is_quiet(c, now) for c in clients),
        unanswered=sum(is_unanswered(c, now) for c in clients),
        checkins_this_week=sum(1 for c in clients if (due := next_checkin(c)) is not None and due < week_ends),
        to_thank=sum(1 for c in clients if thanks.get(c.id)),
        warning_signs=sum(1 for c in clients if c.id in signs),
    )
    blocks: list[b.Block] = [
        b.header("Your relationships"),
        b.rich(b.line(b.text(_today(session, ctx, settings, scale, pace, total, days), bold=True)),
               b.line("Your pace: " + describe_pace(pace, settings.business_hours, scale.tz, now))),
        b.context(counts.line()),
        b.actions(b.button("Log a touch", "home_log", "0", style="primary"),
                  b.button("Change pace", "home_pace", "0"),
                  *([b.button("Resume cards", "home_resume", "0")] if pace.paused(now) else []),
                  block_id="home-top"),
        b.divider(),
    ]
    if notice is not None:
        blocks[1:1] = notice.blocks[:1]
    blocks += needs_attention(session, ctx, attention_page, best, total, days, pace.cards)
    blocks += promises_and_issues(session, ctx, days)
    blocks += goals_section(session, ctx)
    blocks += mail_block(session, ctx, settings)
    others = [c for c in clients if c.id not in waiting_ids]
    attention = clients_with_open_nudges(session, [c.id for c in others], now - OPEN_WINDOW)
    ordered = sorted(others, key=lambda c: (c.id not in attention, c.id not in signs,
                                            c.last_their_contact_at or c.created_at, c.name_key))
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    if not clients:
        blocks.append(b.paragraph("You don't own any clients yet. Add one with ", b.text("/client add Acme Corp",
                                                                                       code=True), "."))
    elif ordered:
        title = "Your clients" if not waiting_ids else "Your other clients"
        blocks.append(b.rich(b.line(b.text(f"{title} ({len(ordered)})", bold=True),
                                    " · those with a card out and warning signs first, then the longest silence")))
    health = health_of(session, shown, now)
    advocates = primary_contacts(session, [c.id for c in shown])
    for client in shown:
        blocks += _client_blocks(client, now, days, client.id in attention, signs.get(client.id, 0),
                                 thanks.get(client.id, 0), health[client.id].label, advocates.get(client.id))
    if pages > 1:
        blocks += [b.context(f"Page {page} of {pages} · {len(ordered)} clients"),
                   _pager(page, pages, "home_page", "home-pages")]
    return {"type": "home", "blocks": blocks,
            "private_metadata": json.dumps({"page": page, "attention": attention_page})}


def _today(session: Session, ctx: Context, settings: Settings, scale: Scale, pace: Pace, waiting: int,
           days: Days) -> str:
    """'Today: 3 of your 5 cards sent · 28 waiting their turn', or why none come today."""
    now = ctx.now
    shown = focus_days_on(session, ctx.workspace_id, day_of(now, scale.tz), ctx.user_id).get(ctx.user_id, (0, 0))[0]
    starts = pace.starts(now, settings.business_hours, scale.tz, timedelta(minutes=settings.sweep_minutes))
    if pace.paused(now):
        assert pace.paused_until is not None
        said = f"Today: paused, no cards until {days(pace.paused_until)}"
    elif now.astimezone(scale.tz).weekday() not in settings.business_hours.days:
        said = "Today: not a workday, no cards"
    elif not shown and starts is not None and now < starts:
        said = f"Today: your cards come from {starts.astimezone(pace.tz):%H:%M} your time"
    else:
        said = f"Today: {shown} of your {pace.cards} card{'s' if pace.cards != 1 else ''} sent"
    return said + (f" · {waiting} waiting their turn" if waiting else " · nothing waiting")


def needs_attention(session: Session, ctx: Context, page: int, best: list[ranking.Ranked], total: int,
                    days: Days, budget: int) -> list[b.Block]:
    """Everything due for the user's clients that focus has not put on a card yet, ranked as focus ranks it
    (PRODUCT.md §4.8): nothing due is ever out of reach, whatever the daily budget. Each says what happened and
    the next step, as its card will."""
    if not total:
        return []
    pages = -(-total // ATTENTION_PAGE)
    page = min(max(1, page), pages)
    start = (page - 1) * ATTENTION_PAGE
    shown = best[start:start + ATTENTION_PAGE]
    clients, nudges, _ = waiting_for(session, [r.candidate.client_id for r in shown])
    blocks: list[b.Block] = [b.rich(b.line(
        b.text(f"Needs attention ({total})", bold=True),
        f" · waiting their turn, most important first. Rapport brings up at most {budget} a workday; deal with any "
        "of them here now."))]
    for ranked in shown:
        client_id = ranked.candidate.client_id
        client = clients.get(client_id)
        if client is None:
            continue
        views = sorted((View(n.id, n.kind, client.name, client.owner_id, json.loads(n.facts))
                        for n in nudges.get(client_id, [])),
                       key=lambda v: (-ranking.STRENGTH.get(v.kind, 0.0), v.nudge_id))
        parts: list[b.Element | str] = [b.text(client.name, bold=True)]
        if views:
            said = [said_of(view, days) for view in views]
            parts += [f" · {summary([s.what for s in said], WHAT_ROOM)} → ", b.text(said[0].todo, italic=True)]
        parts.append(" · " + ("due today" if ranked.waited == 0 else
                              f"waiting {ranked.waited} workday{'s' if ranked.waited != 1 else ''}"))
        value = str(client_id)
        blocks += [
            b.rich(b.line(*parts)),
            b.actions(b.button("Log a touch", "home_log", value), b.button("View client", "home_open", value),
                      snooze_menu("home_snooze", value),
                      b.button("Mark not relevant", "home_not_relevant", value,
                               confirm=not_relevant_confirm(client.name, [v.kind for v in views])),
                      block_id=f"attention-{value}"),
        ]
    if pages > 1:
        blocks += [b.context(f"Needs attention: page {page} of {pages}"),
                   _pager(page, pages, "home_attention_page", "attention-pages")]
    return [*blocks, b.divider()]


def promises_and_issues(session: Session, ctx: Context, days: Days) -> list[b.Block]:
    """What the user owes their clients (PRODUCT.md §4.10): promises soonest due first, then issues, each with
    the button that marks it done."""
    owed = owner_commitments(session, ctx.workspace_id, ctx.user_id)
    if not owed:
        return []
    today = ctx.now.astimezone(ctx.user_tz()).date()
    promises = sum(1 for c, _ in owed if c.kind == "promise")
    blocks: list[b.Block] = [b.rich(b.line(
        b.text("Promises and issues", bold=True),
        f" · {promises} promise{'s' if promises != 1 else ''} and {len(owed) - promises} open "
        f"issue{'s' if len(owed) - promises != 1 else ''}: what your clients are waiting for."))]
    for commitment, client in owed[:COMMITMENTS_SHOWN]:
        done = (b.button("Mark kept", "home_kept", str(commitment.id), style="primary") if commitment.kind == "promise"
                else b.button("Mark resolved", "home_resolved", str(commitment.id), style="primary"))
        blocks += [
            b.rich(b.line(b.emoji("handshake" if commitment.kind == "promise" else "hammer_and_wrench"), " ",
                          b.text(client.name, bold=True), " · ", *describe(commitment, today, days))),
            b.actions(done, b.button("Log a touch", "home_log", str(client.id)),
                      b.button("View client", "home_open", str(client.id)), block_id=f"owed-{commitment.id}"),
        ]
    if len(owed) > COMMITMENTS_SHOWN:
        blocks.append(b.context(f"Showing {COMMITMENTS_SHOWN} of {len(owed)}, soonest due first; each client's "
                                "card (`/client status`) lists all of theirs."))
    return [*blocks, b.divider()]


def settle_from_home(session: Session, ctx: Context, value: str) -> b.Reply | None:
    """Kept or Resolved from the Home tab; a foreign or stale id does nothing. Serialised with every other click
    about the client: one settled first is answered "Already handled by …" (returned, for the tab to show)."""
    if not value.isdigit() or len(value) > 18:
        return None
    client_id = client_id_of_commitment(session, ctx.workspace_id, int(value))
    if client_id is None or lock_client(session, ctx.workspace_id, client_id) is None:
        return None
    commitment = get_commitment(session, ctx.workspace_id, int(value))  # read under the lock
    if commitment is None:
        return None
    if commitment.done_at is not None:
        done = "kept the promise" if commitment.kind == "promise" else "resolved it"
        return already_handled(done, commitment.done_by, commitment.done_at)
    settle(session, commitment, ctx.user_id, ctx.now)
    return None


def _pager(page: int, pages: int, action_id: str, block_id: str) -> b.Block:
    nav = []
    if page > 1:
        nav.append(b.button("← Show previous", action_id, str(page - 1)))
    if page < pages:
        nav.append(b.button("Show next →", action_id, str(page + 1)))
    return b.actions(*nav, block_id=block_id)


def not_relevant_from_home(session: Session, ctx: Context, value: str) -> b.Reply | None:
    """Not relevant on a waiting client: its waiting reasons close, as on a card, and nothing more is asked.
    When nothing is waiting any more, the answer says who dealt with it."""
    if not value.isdigit() or len(value) > 18:
        return None
    client = lock_client(session, ctx.workspace_id, int(value))
    if client is None:
        return None
    reasons = waiting_nudges_of(session, client.id)  # read under the lock
    if not reasons:
        last = last_handled_nudge(session, client.id)
        recent = last is not None and last.handled_at is not None and last.handled_at >= ctx.now - OPEN_WINDOW
        return (already_handled(last.handled_action, last.handled_by, last.handled_at) if recent and last else
                b.reply("Nothing waiting.", b.paragraph(f"Nothing about {client.name} is waiting any more.")))
    not_relevant(session, client, reasons)
    for nudge in reasons:
        nudge.status, nudge.last_error = "dropped", "closed before a card"
        nudge.handled_action, nudge.handled_by, nudge.handled_at = NOT_RELEVANT, ctx.user_id, ctx.now
    return None


def _client_blocks(client: Client, now: datetime, days: Days, card_out: bool, signs: int, to_thank: int,
                   health: str, advocate: Contact | None = None) -> list[b.Block]:
    flags = [health]
    if card_out:
        flags.append("card sent")
    if signs:
        flags.append(f"{signs} warning signs in 30 days")
    if to_thank:
        flags.append(f"{to_thank} referral{'s' if to_thank > 1 else ''} to thank")
    if client.status != "active":
        flags.append(client.status)
    if advocate is not None and client.heads_up_since is not None:
        flags.append(f"{advocate.name} is owed a heads-up")
    facts = [f"last heard from them {days(client.last_their_contact_at)}" if client.last_their_contact_at
             else "not heard from yet"]
    due = next_checkin(client)
    if due is not None:
        facts.append(f"check-in late since {days(due)}" if due < now else f"check-in due {days(due)}")
    if advocate is not None:
        facts.append(f"advocate {advocate.name}")
    value = str(client.id)
    return [
        b.rich(b.line(b.text(client.name, bold=True), " · " + ", ".join(flags)),
               b.line(" · ".join(facts)[:1].upper() + " · ".join(facts)[1:])),
        b.actions(b.button("Log a touch", "home_log", value), b.button("View client", "home_open", value),
                  snooze_menu("home_snooze", value), block_id=f"home-{value}"),
    ]


def snooze_from_home(session: Session, ctx: Context, value: str) -> None:
    """'<client id>:<period>' from the Home tab's select; a foreign or stale id does nothing."""
    client_part, _, period = value.partition(":")
    if not client_part.isdigit() or len(client_part) > 18:
        return
    try:
        count, unit = parse_period(period)
    except WhenError:
        return
    client = lock_client(session, ctx.workspace_id, int(client_part))  # the later of two snoozes stands
    if client is not None:
        client.snoozed_until = add_period(ctx.now, count, unit)


def card_modal(session: Session, ctx: Context, value: str) -> dict[str, object]:
    """The client card in a modal: App Home has no thread to answer in."""
    client = get_client(session, ctx.workspace_id, int(value)) if value.isdigit() and len(value) <= 18 else None
    blocks = client_card(session, ctx, client) if client else [
        b.paragraph("That client no longer exists (it may have been forgotten).")]
    return {"type": "modal", "title": {"type": "plain_text", "text": "Client"},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": blocks[:100]}
