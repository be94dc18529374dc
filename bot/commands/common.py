from __future__ import annotations

from sqlalchemy.orm import Session

from bot.commands.matching import ClientLookupError, Match, find_client, split_note
from bot.slack.caller import CommandError, Context, owner_or_admin
from bot.slack.people import owner_refusal
from bot.slack.text import to_plain
from storage.clients import lock_client
from storage.models import NAME_MAX, NOTE_MAX, Client, Workspace
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


def require_owner_or_admin(ctx: Context, client: Client, doing: str) -> None:
    """What others rely on (handoff, forget, owner, sharing a review, marking a goal met or missed, removing a
    contact) is for the client's owner and workspace admins (from users.info), PRODUCT.md §3."""
    if not owner_or_admin(ctx, client):
        raise CommandError(f"Only {client.name}'s owner or a workspace admin can {doing} {client.name}. "
                           "Ask the owner, or an admin.")


def lock_found(session: Session, ctx: Context, client: Client) -> Client:
    """The client a command found, locked and read afresh (storage.clients.lock_client): of two requests at once
    the second sees what the first did, and one forgotten meanwhile is said so instead of written to."""
    locked = lock_client(session, ctx.workspace_id, client.id)
    if locked is None:
        raise CommandError(f"{client.name} was forgotten a moment ago; nothing was changed.")
    return locked


def locked_for_owner(session: Session, ctx: Context, client: Client, doing: str) -> Client:
    """The client locked, then checked against who owns it now: the lock comes first, so a change another request
    made to its owner at the same moment is seen (two handoffs at once: the second runs on the new owner's
    authority or not at all), PRODUCT.md §3."""
    locked = lock_found(session, ctx, client)
    require_owner_or_admin(ctx, locked, doing)
    return locked


def require_new_owner(session: Session, ctx: Context, user_id: str, usage: str | None = None) -> None:
    """A client's new owner (add … owner, owner, handoff) is a person of our own workspace, as Slack says
    (users.info): not a bot, a deactivated or unknown user, or a Slack Connect member of another organisation.
    The person asking is one by definition: no look-up."""
    if user_id == ctx.user_id:
        return
    workspace = session.get(Workspace, ctx.workspace_id)
    assert workspace is not None, "the dispatcher creates the workspace before any command runs"
    refusal = owner_refusal(ctx.someone(user_id), user_id, workspace.team_id, workspace.enterprise_id or None)
    if refusal is not None:
        raise CommandError(refusal, usage)
