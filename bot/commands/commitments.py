"""Commands for what we owe a client (PRODUCT.md §4.10): promise, kept, issue, resolved."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from bot.card.commitments import day_element
from bot.commands.common import clean_note, find, lock_found, split_note
from bot.commands.usage import USAGE
from bot.commitments.ledger import AlreadyOpenError, record, settle
from bot.relationship.said import clean_text, matching
from bot.slack import blocks as b
from bot.slack.caller import CommandError, Context
from bot.when import WhenError, parse_future_day
from storage.commitments import open_commitments
from storage.models import Client, Commitment


def _what(raw: str, usage: str, example: str) -> str:
    try:
        return clean_text(raw)
    except ValueError as exc:
        raise CommandError(f"{exc}, like {example}." if str(exc) == "Say what" else f"{exc}.", usage) from None


def _split_last(text: str, word: str) -> tuple[str, str] | None:
    """'send the deck by friday' -> ('send the deck', 'friday'), on the last ' by '."""
    parts = re.split(rf"(?:^|\s+){word}\s+", text, flags=re.I)
    if len(parts) < 2:
        return None
    return f" {word} ".join(parts[:-1]), parts[-1]


def cmd_promise(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["promise"]
    match = find(session, ctx, args, usage)
    client = match.client
    example = f"/client promise {client.name} the revised proposal by friday"
    split = _split_last(match.rest, "by")
    if split is None:
        raise CommandError(f"Say by when, like {example}.", usage)
    what = _what(split[0], usage, example)
    try:
        due_on = parse_future_day(split[1], ctx.now, ctx.user_tz())
    except WhenError as exc:
        raise CommandError(str(exc), usage) from None
    record(session, client, "promise", what, due_on, ctx.user_id, ctx.now)
    return b.reply(f"Promised {client.name}: {what}.", b.rich(
        b.line(b.emoji("handshake"), " Promised ", b.text(client.name, bold=True), ": ", b.text(what, italic=True),
               ", by ", day_element(due_on), "."),
        b.line("Rapport reminds you the business day before, and if it slips. When it is done: ",
               b.text(f"/client kept {client.name}", code=True))))


def cmd_issue(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["issue"]
    match = find(session, ctx, args, usage)
    client = match.client
    example = f"/client issue {client.name} invoices show the wrong VAT eta friday"
    split = _split_last(match.rest, "eta")
    raw_what, eta = (split[0], split[1]) if split else (match.rest, None)
    what = _what(raw_what, usage, example)
    try:
        due_on = parse_future_day(eta, ctx.now, ctx.user_tz()) if eta else None
    except WhenError as exc:
        raise CommandError(str(exc).replace("a promise is", "an estimate is"), usage) from None
    try:
        _, new = record(session, client, "issue", what, due_on, ctx.user_id, ctx.now)
    except AlreadyOpenError:
        raise CommandError(f"{client.name} already has this issue open. To give a new estimate, add eta, like "
                           f"{example}.", usage) from None
    if not new and due_on is not None:
        return b.reply(f"New estimate for {client.name}: {what}.", b.paragraph(
            b.emoji("calendar"), " New estimate for ", b.text(client.name, bold=True), "'s ", b.text(what, italic=True),
            ": ", day_element(due_on), ". Tell them too."))
    lines = [b.line(b.emoji("hammer_and_wrench"), " Open issue for ", b.text(client.name, bold=True), ": ",
                    b.text(what, italic=True), *(_estimate(due_on) if due_on else []), ".")]
    lines.append(b.line(f"They are owed a status update every {ctx.update_every} business days until it is "
                        "resolved; any touch to them counts. When it is fixed: ",
                        b.text(f"/client resolved {client.name}", code=True)))
    return b.reply(f"Open issue for {client.name}: {what}.", b.rich(*lines))


def _estimate(due_on: date) -> list[b.Element | str]:
    return [", estimate ", day_element(due_on)]


def _pick(client: Client, open_ones: list[Commitment], words: str, kind: str, usage: str) -> Commitment:
    noun, verb = ("promise", "kept") if kind == "promise" else ("issue", "resolved")
    if not open_ones:
        raise CommandError(f"{client.name} has no open {noun}: nothing to mark {verb}.", usage)
    found = matching(open_ones, words)
    if len(found) == 1:
        return found[0]
    listed = "; ".join(c.what for c in (found or open_ones)[:5])
    if not found:
        raise CommandError(f"No open {noun} to {client.name} matches {words!r}. Open: {listed}.", usage)
    raise CommandError(f"{client.name} has {len(found)} open {noun}s: {listed}. Say which, like "
                       f"/client {verb} {client.name} {found[0].what.split()[0]}.", usage)


def cmd_kept(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["kept"]
    match = find(session, ctx, args, usage)
    client = match.client
    client = lock_found(session, ctx, client)  # serialised with Kept clicks: read what they did
    promise = _pick(client, open_commitments(session, client.id, "promise"), match.rest, "promise", usage)
    settle(session, promise, ctx.user_id, ctx.now)
    return b.reply(f"Kept: {promise.what}.", b.paragraph(
        b.emoji("white_check_mark"), " Kept your promise to ", b.text(client.name, bold=True), ": ",
        b.text(promise.what, italic=True), "."))


def cmd_resolved(session: Session, ctx: Context, args: str) -> b.Reply:
    usage = USAGE["resolved"]
    head, raw_note = split_note(args)
    note = clean_note(raw_note, usage)
    match = find(session, ctx, head, usage)
    client = match.client
    client = lock_found(session, ctx, client)  # serialised with Resolved clicks: read what they did
    issue = _pick(client, open_commitments(session, client.id, "issue"), match.rest, "issue", usage)
    settle(session, issue, ctx.user_id, ctx.now, note)
    lines = [b.line(b.emoji("white_check_mark"), " Resolved for ", b.text(client.name, bold=True), ": ",
                    b.text(issue.what, italic=True), ".")]
    if note:
        lines.append(b.line(b.text(note, italic=True)))
    return b.reply(f"Resolved: {issue.what}.", b.rich(*lines))
