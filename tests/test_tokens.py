"""OAuth tokens at rest (PRODUCT.md §8): encrypted with RAPPORT_SECRET_KEY, sealed by migrate, a wrong key refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import text

from bot.slack.tokens import SEALED, EncryptedInstallationStore, TokenCipher
from tests.cli import run
from tests.conftest import OAUTH_CLIENT_ID, OTHER_KEY, SECRET_KEY
from tests.test_workspaces import install, uninstall_event

TOKEN_COLUMNS = {"slack_bots": ("bot_token", "bot_refresh_token"),
                 "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")}


def _stored_tokens(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [value for table, columns in TOKEN_COLUMNS.items() for column in columns
                for value in conn.execute(text(f"SELECT {column} FROM {table}")).scalars() if value]


def _issued(rapport) -> list[str]:  # type: ignore[no-untyped-def]
    return list(rapport.fake.tokens) + list(rapport.fake.refresh_tokens)


def test_installed_workspaces_tokens_are_stored_encrypted(oauth_rapport, database_url):
    rapport = oauth_rapport
    install(rapport, "code-a", "TA")
    install(rapport, "code-b", "TB", expires_in=43200)  # with a refresh token too
    stored = _stored_tokens(rapport.database.engine)
    assert stored and all(value.startswith(SEALED) for value in stored)
    issued = _issued(rapport)
    assert len(issued) >= 3
    for token in issued:
        assert not any(token in value for value in stored)
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert b"xoxb-" not in raw and b"xoxe" not in raw, "no token anywhere in the database file"
    # and they work: each workspace's commands are authorised with its own (decrypted) token
    assert rapport.command("add Acme Corp", team="TA").json()["text"] == "Added Acme Corp."
    assert rapport.command("add Acme Corp", team="TB").json()["text"] == "Added Acme Corp."
    uninstall_event(rapport, "TA", {"type": "app_uninstalled"})  # uninstall deletes the sealed rows
    assert rapport.command("add Beta", team="TB").json()["text"] == "Added Beta."


def _plain_installation(url: str) -> None:
    from storage.db import make_engine

    engine = make_engine(url)
    SQLAlchemyInstallationStore(client_id=OAUTH_CLIENT_ID, engine=engine).save(Installation(
        app_id="A1", enterprise_id=None, team_id="TOLD", user_id="UOLD", bot_token="xoxb-old-plain",
        bot_id="B1", bot_user_id="UB", bot_scopes="chat:write",
        installed_at=datetime(2026, 1, 5, tzinfo=UTC).timestamp()))
    engine.dispose()


def test_migrate_encrypts_tokens_stored_before_the_key_and_a_wrong_key_fails_clearly(database_url, tmp_path):
    _plain_installation(database_url)
    unkeyed = run(["migrate"], tmp_path, DATABASE_URL=database_url)
    assert unkeyed.returncode == 0
    assert "2 Slack tokens are stored unencrypted; set RAPPORT_SECRET_KEY" in unkeyed.stderr
    keyed = run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=SECRET_KEY)
    assert keyed.returncode == 0 and "encrypted 2 stored Slack tokens with RAPPORT_SECRET_KEY" in keyed.stdout
    from storage.db import make_engine

    engine = make_engine(database_url)
    try:
        assert all(v.startswith(SEALED) for v in _stored_tokens(engine))
        store = EncryptedInstallationStore(SQLAlchemyInstallationStore(client_id=OAUTH_CLIENT_ID, engine=engine),
                                           TokenCipher([SECRET_KEY]))
        assert store.find_installation(enterprise_id=None, team_id="TOLD").bot_token == "xoxb-old-plain"
        # a rotated key: the new one first, the old one after it still opens what the old one sealed
        rotated = EncryptedInstallationStore(store.inner, TokenCipher([OTHER_KEY, SECRET_KEY]))
        assert rotated.find_bot(enterprise_id=None, team_id="TOLD").bot_token == "xoxb-old-plain"
    finally:
        engine.dispose()
    again = run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=SECRET_KEY)
    assert "encrypted" not in again.stdout  # nothing left to seal
    oauth = {"DATABASE_URL": database_url, "SLACK_CLIENT_ID": OAUTH_CLIENT_ID, "SLACK_CLIENT_SECRET": "s",
             "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    for command in (["sweep"], ["serve"], ["migrate"]):
        wrong = run(command, tmp_path, RAPPORT_SECRET_KEY=OTHER_KEY, **oauth)
        assert wrong.returncode == 2, (command, wrong.stdout, wrong.stderr)
        assert wrong.stderr.strip().splitlines()[-1].startswith(
            "rapport: RAPPORT_SECRET_KEY does not open the tokens stored in DATABASE_URL")
        assert "xoxb" not in wrong.stdout + wrong.stderr and OTHER_KEY not in wrong.stdout + wrong.stderr
    missing = run(["serve"], tmp_path, **oauth)
    assert missing.returncode == 2 and missing.stderr.startswith("rapport: RAPPORT_SECRET_KEY is not set")


def test_after_a_key_rotation_migrate_seals_every_token_with_the_new_key_so_the_old_one_can_be_dropped(
        database_url, tmp_path):
    _plain_installation(database_url)
    assert run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=SECRET_KEY).returncode == 0
    rotated = run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=f"{OTHER_KEY},{SECRET_KEY}")
    assert rotated.returncode == 0 and "encrypted 2 stored Slack tokens with RAPPORT_SECRET_KEY" in rotated.stdout
    again = run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=f"{OTHER_KEY},{SECRET_KEY}")
    assert "encrypted" not in again.stdout  # already under the new key: nothing rewritten
    new_only = run(["migrate"], tmp_path, DATABASE_URL=database_url, RAPPORT_SECRET_KEY=OTHER_KEY)
    assert new_only.returncode == 0, new_only.stderr
    from storage.db import make_engine

    engine = make_engine(database_url)
    try:
        store = EncryptedInstallationStore(SQLAlchemyInstallationStore(client_id=OAUTH_CLIENT_ID, engine=engine),
                                           TokenCipher([OTHER_KEY]))
        assert store.find_installation(enterprise_id=None, team_id="TOLD").bot_token == "xoxb-old-plain"
    finally:
        engine.dispose()
