"""Closing out a project for a client who stays (PRODUCT.md §4.13): a five-item checklist, each item ticked by
someone at some moment; what is still unticked 5 business days after it was opened is nudged once. One closeout
at a time per client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot import audit
from bot.relationship.cards import answer_nudges
from storage.handoffs import open_closeout, ticks_of, unhandled_nudges
from storage.models import Client, Closeout, CloseoutTick

# (key, what it says on the card), in the card's order
ITEMS = (
    ("delivered", "What was delivered and what was deferred, sent to the client"),
    ("issues", "Open issues listed for them"),
    ("access", "Access and logins handed over"),
    ("owner", "Who looks after them now, told"),
    ("checkin", "The next check-in agreed"),
)
ITEM_KEYS = tuple(key for key, _ in ITEMS)
ITEM_WORDS = dict(ITEMS)
REMIND_AFTER_WORKDAYS = 5
KIND = "closeout"


class AlreadyOpenError(ValueError):
    """The client has a closeout whose checklist is not finished."""

    def __init__(self, closeout: Closeout) -> None:
        super().__init__("a closeout is open")
        self.closeout = closeout


def open_new(session: Session, client: Client, note: str | None, by: str, now: datetime) -> Closeout:
    """A new checklist; the reminder rule looks at it at once (and finds it not due for 5 business days)."""
    existing = open_closeout(session, client.id)
    if existing is not None:
        raise AlreadyOpenError(existing)
    closeout = Closeout(workspace_id=client.workspace_id, client_id=client.id, note=note, opened_at=now,
                        opened_by=by, reminded=False, next_check_at=now)
    session.add(closeout)
    session.flush()
    audit.record(session, client.workspace_id, by, "closeout", now, client_id=client.id)
    return closeout


def unticked(ticks: dict[str, CloseoutTick]) -> list[str]:
    return [key for key in ITEM_KEYS if key not in ticks]


def tick(session: Session, closeout: Closeout, item: str, by: str, now: datetime) -> CloseoutTick | None:
    """Tick one item; None if someone already had (the card shows who). The last tick finishes the closeout and
    settles its reminder."""
    ticks = ticks_of(session, closeout.id)
    if item in ticks:
        return None
    done = CloseoutTick(workspace_id=closeout.workspace_id, closeout_id=closeout.id, item=item, by=by, at=now)
    session.add(done)
    audit.record(session, closeout.workspace_id, by, "closeout_tick", now, client_id=closeout.client_id,
                 detail=ITEM_WORDS[item])
    if not unticked({**ticks, item: done}):
        closeout.done_at, closeout.next_check_at = now, None
        answer_nudges(session, unhandled_nudges(session, closeout.client_id, (KIND,)), "finished the closeout", by,
                      now)
    return done
