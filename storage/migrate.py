"""Alembic, configured in code: the repository's top level has no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.db import normalize_url

MIGRATIONS = Path(__file__).with_name("migrations")
# Installations and OAuth state belong to slack_sdk's stores: their tables are created by a migration but
# have no models here, so comparing the models with the database leaves them out.
FOREIGN_TABLE_PREFIX = "slack_"


def is_ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object hook."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith(FOREIGN_TABLE_PREFIX)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # '%' must be doubled for ConfigParser interpolation (passwords may contain it).
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
