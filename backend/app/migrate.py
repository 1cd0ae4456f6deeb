"""Run and inspect Alembic migrations from code (the CLI, start-up and tests use this)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.database import normalize_database_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


# Database objects the models cannot describe (created by revisions, PostgreSQL only):
# autogenerate comparisons must neither add nor drop them.
UNMODELLED_INDEXES = frozenset({"ix_tasks_search"})


class SchemaOutOfDate(RuntimeError):
    pass


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name` hook: skip the objects listed in UNMODELLED_INDEXES."""
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option(
        "sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%")
    )
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_up_to_date(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, but this version needs "
            f"{head}; run `tasks-api migrate` first"
        )
