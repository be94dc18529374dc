"""OAuth tokens at rest (PRODUCT.md §8): bot, user and refresh tokens are stored encrypted with Fernet
(`cryptography`), keyed by RAPPORT_SECRET_KEY.

The encryption wraps slack_sdk's own SQLAlchemy installation store instead of replacing it: tokens are sealed
on their way in and opened on their way out, and everything else (which rows, which columns, rotation,
uninstall) stays the library's. A sealed value carries a prefix, so a store written before the key was set
still reads, and `rapport migrate` can tell which rows are left to seal.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from logging import Logger
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from sqlalchemy import Engine, select, update

SEALED = "enc:v1:"
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
T = TypeVar("T", Installation, Bot)


class TokenKeyError(Exception):
    """The stored tokens were sealed with a key that is not in RAPPORT_SECRET_KEY."""

    def __init__(self) -> None:
        super().__init__("RAPPORT_SECRET_KEY does not open the tokens stored in DATABASE_URL: they were encrypted "
                         "with another key. If you rotated it, list the new key first and the old one after it "
                         "(RAPPORT_SECRET_KEY=new,old)")


class TokenCipher:
    """Seals and opens token strings; the first key seals, any key opens (so keys can be rotated)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._first = Fernet(keys[0].encode())
        self._fernet = MultiFernet([self._first, *(Fernet(k.encode()) for k in keys[1:])])

    def seal(self, value: str | None) -> str | None:
        if value is None or value.startswith(SEALED):
            return value
        return SEALED + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(SEALED):
            return value  # written before encryption was on; `rapport migrate` seals it
        try:
            return self._fernet.decrypt(value[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise TokenKeyError() from None

    def resealed(self, value: str) -> str:
        """A sealed value, sealed again with the first key if an older key sealed it (key rotation); as it is if the
        first key already opens it."""
        token = value[len(SEALED):].encode()
        try:
            self._first.decrypt(token)
            return value
        except InvalidToken:
            pass
        try:
            return SEALED + self._fernet.rotate(token).decode()
        except InvalidToken:
            raise TokenKeyError() from None

    def _apply(self, item: T, how: str) -> T:
        changed = copy.copy(item)
        for name in TOKEN_FIELDS:
            if hasattr(changed, name):
                setattr(changed, name, getattr(self, how)(getattr(changed, name)))
        return changed

    def sealed(self, item: T) -> T:
        return self._apply(item, "seal")

    def opened(self, item: T | None) -> T | None:
        return None if item is None else self._apply(item, "open")


class EncryptedInstallationStore(InstallationStore):
    """slack_sdk's installation store, with every token sealed before it is written and opened after it is read."""

    def __init__(self, inner: InstallationStore, cipher: TokenCipher) -> None:
        self.inner = inner
        self.cipher = cipher

    @property
    def logger(self) -> Logger:
        return self.inner.logger

    def save(self, installation: Installation) -> None:
        self.inner.save(self.cipher.sealed(installation))

    def save_bot(self, bot: Bot) -> None:
        self.inner.save_bot(self.cipher.sealed(bot))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        return self.cipher.opened(self.inner.find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                                      is_enterprise_install=is_enterprise_install))

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        return self.cipher.opened(self.inner.find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
            is_enterprise_install=is_enterprise_install))

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                            user_id: str | None = None) -> None:
        self.inner.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_all(enterprise_id=enterprise_id, team_id=team_id)


def check_stored_tokens(engine: Engine, cipher: TokenCipher) -> None:
    """Fail fast, and clearly, when the key cannot open the tokens already stored (TokenKeyError)."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    store = SQLAlchemyInstallationStore(client_id="-", engine=engine)
    with engine.connect() as conn:
        for table in (store.installations, store.bots):
            value = conn.execute(select(table.c.bot_token).where(table.c.bot_token.like(SEALED + "%")).limit(1)
                                 ).scalar()
            cipher.open(value)


def seal_stored_tokens(engine: Engine, cipher: TokenCipher | None) -> tuple[int, int]:
    """Seal every token still stored in plain text (rows written before RAPPORT_SECRET_KEY was set), seal again with
    the first key those an older key sealed (so, after a rotation, the old key can be dropped), and check that the
    keys open the rest. Returns (tokens sealed now, tokens still plain: no key to seal)."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    sealed = plain = 0
    store = SQLAlchemyInstallationStore(client_id="-", engine=engine)
    with engine.begin() as conn:
        for table in (store.installations, store.bots):
            columns = [c for c in TOKEN_FIELDS if c in table.c]
            for row in conn.execute(select(table.c.id, *(table.c[c] for c in columns))).mappings():
                values = {c: row[c] for c in columns if row[c] is not None}
                for column, value in values.items():
                    if value.startswith(SEALED):
                        resealed = value if cipher is None else cipher.resealed(value)  # TokenKeyError: wrong key
                        if resealed != value:
                            conn.execute(update(table).where(table.c.id == row["id"]).values({column: resealed}))
                            sealed += 1
                        continue
                    if cipher is None:
                        plain += 1
                        continue
                    conn.execute(update(table).where(table.c.id == row["id"]).values({column: cipher.seal(value)}))
                    sealed += 1
    return sealed, plain
