"""Keeping each client's derived facts and nudge schedule current when its history changes.

Called in the same transaction as every write, so the planner can select what is due from indexed
columns instead of rescanning history.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from bot.relationship import thresholds
from bot.relationship.facts import history_start, next_checkin, spell_start
from bot.relationship.kinds import WARNING_SIGNS
from storage.contacts import contact_facts, primary_contact
from storage.handoffs import latest_handoff
from storage.models import Client, Contact, Nudge, Referral


def contact_named_in(note: str | None, contacts: list[Contact]) -> Contact | None:
    """The contact a note mentions by full or first name (primary first), so advocate silence can be seen."""
    if not note:
        return None
    words = note.casefold()
    for contact in sorted(contacts, key=lambda c: not c.is_primary):
        names = {contact.name.casefold(), contact.name.split()[0].casefold()}
        if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", words) for n in names if len(n) >= 2):
            return contact
    return None


def refresh(session: Session, client: Client, now: datetime, contacts: list[Contact] | None = None) -> None:
    """`contacts`: all the client's contacts, when the caller has read them already."""
    primary = (primary_contact(session, client.id) if contacts is None
               else next((c for c in contacts if c.is_primary), None))
    facts = contact_facts(
        session, client.id,
        contacts_since=now - thresholds.RHYTHM_WINDOW, warnings_since=now - 2 * thresholds.WARNING_WINDOW,
        warning_kinds=WARNING_SIGNS, primary_contact_id=primary.id if primary else None,
    )
    spell_before = spell_start(client)
    client.last_contact_at = facts.last_contact_at
    client.last_contact_direction = facts.last_contact_direction
    client.last_their_contact_at = facts.last_their_contact_at
    client.last_checkin_at = facts.last_checkin_at
    client.unanswered_count = len(facts.unanswered)
    client.unanswered_since = facts.unanswered[0] if facts.unanswered else None
    client.last_primary_contact_at = facts.last_primary_contact_at
    client.last_warning_at = max(facts.warning_signs_since, default=None)
    client.history_since = min(client.created_at, facts.first_at) if facts.first_at else client.created_at
    spell_changed = spell_start(client) != spell_before

    threshold = thresholds.quiet_threshold(client.quiet_after_days, facts.their_contacts_since, now)
    threshold_changed = (threshold.days, threshold.how) != (client.quiet_threshold_days, client.quiet_threshold_how)
    client.quiet_threshold_days, client.quiet_threshold_how = threshold.days, threshold.how
    if spell_changed or (threshold_changed and not client.quiet_nudges):
        client.quiet_nudges = 0
        client.next_quiet_at = thresholds.first_quiet_due(spell_start(client), threshold, client.halved_until)
    client.next_unanswered_at = thresholds.unanswered_due(facts.unanswered)
    client.next_checkin_at = next_checkin(client)
    episode = thresholds.at_risk_episode([*facts.warning_signs_since, *facts.late_since], now)
    client.next_at_risk_at = now if episode is not None else None
    client.next_advocate_at = thresholds.advocate_due(facts.last_primary_contact_at, facts.last_their_contact_at,
                                                 threshold)


def start_schedule(client: Client) -> None:
    """A new client: its first quiet spell starts now, with the default threshold."""
    threshold = thresholds.Threshold(client.quiet_after_days or thresholds.QUIET_DEFAULT_DAYS,
                                "own" if client.quiet_after_days else "default")
    client.quiet_threshold_days, client.quiet_threshold_how = threshold.days, threshold.how
    client.quiet_nudges = 0
    client.next_quiet_at = thresholds.first_quiet_due(history_start(client), threshold)
    client.next_checkin_at = next_checkin(client)


def start_referral(referral: Referral) -> None:
    referral.thank_nudges = 0
    referral.next_nudge_at = thresholds.thank_due(referral.created_at, 0)


def not_relevant(session: Session, client: Client, reasons: list[Nudge]) -> None:
    """Not relevant closes the episode each reason belongs to: nothing more is asked about it (§4.8). A new
    episode (a new quiet spell, new warning signs, the next referral) is nudged as usual."""
    for nudge in reasons:
        if nudge.kind == "quiet":
            client.next_quiet_at = None  # no reminders this spell; the next contact from them starts a new one
        elif nudge.kind == "advocate":
            client.next_advocate_at = None
        elif nudge.kind == "heads_up":  # the advocate-first episode ends (PRODUCT.md §4.13)
            client.heads_up_since = client.heads_up_sponsor_id = client.next_heads_up_at = None
        elif nudge.kind == "intro":
            handoff = latest_handoff(session, client.id)
            if handoff is not None:
                handoff.intro_reminded = True  # no reminder about this introduction
        elif nudge.kind == "winback":
            client.next_winback_at = None  # the series ends here
        elif nudge.kind == "thank" and nudge.referral_id:
            referral = session.get(Referral, nudge.referral_id)
            if referral is not None:
                referral.next_nudge_at = None  # no reminder; it stays open for /client thanked
