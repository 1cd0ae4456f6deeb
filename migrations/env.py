"""Alembic environment: runs against `sqlalchemy.url`, or a connection handed in by tests."""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on the metadata
from app.core.config import Settings
from app.database import create_db_engine, normalize_database_url
from app.migrate import include_name

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _sqlite_foreign_keys_off(connection: Connection) -> None:
    # Batch mode rebuilds a table (copy, DROP, rename). With foreign keys enforced, dropping
    # `users` would cascade-delete every task and token. SQLite ignores this pragma inside a
    # transaction, so it goes straight to the driver before Alembic begins one; the pooled
    # connection is thrown away afterwards (the engine is disposed).
    driver = connection.connection.driver_connection
    if driver is not None:
        driver.execute("PRAGMA foreign_keys=OFF")


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = create_db_engine(Settings(database_url=normalize_database_url(url)))
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _sqlite_foreign_keys_off(connection)
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
