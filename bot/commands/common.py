from __future__ import annotations

from sqlalchemy.orm import Session

from bot.commands.matching import ClientLookupError, Match, find_client, split_note
from bot.slack.caller import CommandError, Context
from bot.slack.text import to_plain
from storage.models import NAME_MAX, NOTE_MAX
from storage.names import normalize_name


def find(session: Session, ctx: Context, args: str, usage: str) -> Match:
    if not args.strip():
        raise CommandError("Which client? Put the client's name first.", usage)
    try:
        return find_client(session, ctx.workspace_id, args)
    except ClientLookupError as exc:
        raise CommandError(exc.message, usage) from None


def find_whole(session: Session, ctx: Context, args: str, usage: str) -> Match:
    """For commands whose only argument is the client: anything left over is a mistake."""
    match = find(session, ctx, args, usage)
    if match.rest:
        raise CommandError(f"I found {match.client.name} but don't understand {match.rest!r} after it.", usage)
    return match


def clean_name(raw: str, usage: str) -> str:
    """A client's or contact's name as it is stored (storage.names): visible characters only."""
    plain = to_plain(raw)
    name = normalize_name(plain)
    if not name:
        if plain.strip():
            raise CommandError("That name has no visible characters; give it one people can read.", usage)
        raise CommandError("The client needs a name.", usage)
    if len(name) > NAME_MAX:
        raise CommandError(f"That name is {len(name)} characters; the limit is {NAME_MAX}.", usage)
    return name


def clean_note(raw: str | None, usage: str) -> str | None:
    if raw is None:
        return None
    note = to_plain(raw).strip()
    if len(note) > NOTE_MAX:
        raise CommandError(f"That note is {len(note)} characters; the limit is {NOTE_MAX}.", usage)
    return note or None


__all__ = ["clean_name", "clean_note", "find", "find_whole", "split_note"]
