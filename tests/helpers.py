from __future__ import annotations

from sqlalchemy import func, select

from bot.database import Database
from storage.models import Client, Interaction, Referral


def counts(database: Database) -> tuple[int, int, int]:
    """(clients, interactions, referrals) across the whole database."""
    with database.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
                     for m in (Client, Interaction, Referral))


def client_named(database: Database, name: str) -> Client | None:
    with database.sessions() as session:
        return session.scalars(select(Client).where(func.lower(Client.name) == name.lower())).one_or_none()


def interactions_of(database: Database, name: str) -> list[Interaction]:
    with database.sessions() as session:
        return list(session.scalars(select(Interaction).join(Client, Client.id == Interaction.client_id)
                                    .where(func.lower(Client.name) == name.lower())
                                    .order_by(Interaction.occurred_at)))
