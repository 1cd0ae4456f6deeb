"""Engine and session factory for the embedded SQLite default and PostgreSQL (Neon included)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.core.config import Settings

WRITE_OPTION = "tasks_api_write"


def normalize_database_url(url: str) -> str:
    """Accept the URL spellings providers hand out and pin the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN oddly; take
    # control of it as SQLAlchemy's SQLite dialect docs recommend.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front (BEGIN IMMEDIATE), so concurrent
        # writers queue on busy_timeout instead of failing with "database is locked" when a
        # read snapshot is upgraded after another writer committed.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _configure_postgres(engine: Engine, statement_timeout_ms: int) -> None:
    # SET LOCAL rather than a startup `options` parameter or a session-level SET: it lasts
    # exactly one transaction, so it also works behind a transaction-mode pooler (Neon's
    # PgBouncer), which rejects startup options and shares server sessions between clients.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")


def for_writes(engine: Engine) -> Engine:
    """The same engine and pool, marked so SQLite opens write transactions with BEGIN IMMEDIATE."""
    return engine.execution_options(**{WRITE_OPTION: True})


def create_db_engine(settings: Settings) -> Engine:
    url = normalize_database_url(settings.database_url)
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "application_name": "tasks-api",
        },
    )
    if settings.db_statement_timeout_ms:
        _configure_postgres(engine, settings.db_statement_timeout_ms)
    return engine


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
