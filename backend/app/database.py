"""Engine and session factory for the embedded SQLite default and PostgreSQL (Neon included)."""

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ClauseElement,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Executable,
    Row,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from app.core.config import Settings
from app.core.text_search import search_rank

# PostgreSQL row-level security reads these transaction-local settings (see migration 0004).
RLS_USER_SETTING = "app.user_id"
RLS_REFRESH_TOKEN_SETTING = "app.refresh_token_hash"  # noqa: S105 - a setting name
_RLS_INFO_KEY = "rls_settings"
_ROLE_FLAGS = text(
    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)

WRITE_OPTION = "tasks_api_write"
# PostgreSQL engines carry DB_STATEMENT_TIMEOUT_MS as this execution option; it is set with
# the other transaction settings (SETTINGS_SQL).
STATEMENT_TIMEOUT_OPTION = "tasks_api_statement_timeout_ms"


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
        # Keyword search on SQLite (PostgreSQL uses its full-text search instead).
        dbapi_connection.create_function("tasks_search_rank", 3, search_rank, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front (BEGIN IMMEDIATE), so concurrent
        # writers queue on busy_timeout instead of failing with "database is locked" when a
        # read snapshot is upgraded after another writer committed.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class SessionEngines(NamedTuple):
    """The engine a request's Session binds to, for read and for write requests.

    Both share the application engine's pool; only their execution options differ: on
    SQLite, write transactions start with BEGIN IMMEDIATE.
    """

    read: Engine
    write: Engine


def session_engines(engine: Engine) -> SessionEngines:
    if engine.dialect.name == "sqlite":
        return SessionEngines(engine, engine.execution_options(**{WRITE_OPTION: True}))
    return SessionEngines(engine, engine)


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only if it sat idle for `idle_seconds`.

    Connections die while idle (server restarts, Neon's idle timeout, NAT and firewall
    timeouts); pinging those keeps the pre-ping safety. A connection returned moments ago
    is used at once: an unconditional pre-ping would cost a round trip on every request.
    If one still turns out dead, SQLAlchemy sees the disconnect, invalidates the pool and
    the next checkout connects afresh.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # `info` is cleared when a connection is replaced: a fresh one is never pinged.
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("connection died while idle") from exc


# Transaction-local settings, applied with set_config(..., true). Parameters are named
# `setting_*`, so they never clash with a statement's own. TimeZone is UTC so that
# timestamptz values come back from the driver in UTC, as the API shows them; a NULL timeout
# (DB_STATEMENT_TIMEOUT_MS=0) keeps the server's own.
SETTINGS_SQL = (
    "SELECT set_config('statement_timeout', COALESCE(%(setting_statement_timeout)s,"
    " current_setting('statement_timeout')), true),"
    f" set_config('{RLS_USER_SETTING}', %(setting_user_id)s, true),"
    f" set_config('{RLS_REFRESH_TOKEN_SETTING}', %(setting_refresh_token_hash)s, true),"
    " set_config('TimeZone', 'UTC', true)"
)


def _settings_params(
    connection: Connection, rls_values: dict[str, str] | None
) -> dict[str, str | None]:
    """Values for SETTINGS_SQL: the engine's statement timeout (0 = none) and the row-level
    security values bound to the session (none: no rows at all, the policies fail closed).

    SET LOCAL-style settings rather than startup `options` or a session-level SET: they last
    exactly one transaction, so they work behind a transaction-mode pooler (Neon's
    PgBouncer), which rejects startup options and shares server sessions between clients."""
    timeout = connection.get_execution_options().get(STATEMENT_TIMEOUT_OPTION, 0)
    values = rls_values or {}
    return {
        "setting_statement_timeout": str(timeout) if timeout else None,
        "setting_user_id": values.get(RLS_USER_SETTING, ""),
        "setting_refresh_token_hash": values.get(RLS_REFRESH_TOKEN_SETTING, ""),
    }


@event.listens_for(OrmSession, "after_begin")
def _settings_on_begin(
    session: OrmSession, _tx: SessionTransaction, connection: Connection
) -> None:
    # Every transaction a Session begins on PostgreSQL starts with its settings.
    if connection.dialect.name == "postgresql":
        params = _settings_params(connection, session.info.get(_RLS_INFO_KEY))
        connection.exec_driver_sql(SETTINGS_SQL, params)


class _Compiled(NamedTuple):
    sql: str
    # Values the statement itself binds (literals in it), under the names the SQL uses.
    params: dict[str, Any]


@lru_cache(maxsize=256)
def _postgres_sql(statement: Executable, dialect: Dialect) -> _Compiled:
    """The statement compiled once for this engine's psycopg2 dialect (pyformat parameters)."""
    compiled = cast(ClauseElement, statement).compile(dialect=dialect)
    return _Compiled(str(compiled), compiled.params)


def run(session: Session, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
    """The rows of one statement, run as a transaction of its own: one round trip.

    For the hottest statements (task reads and single-row writes). `statement` must be built
    once (module level or functools.cache), since its compiled SQL is cached by identity.

    PostgreSQL: the transaction settings and the statement go in one simple-query call,
    `SELECT set_config(...); <statement>`, which PostgreSQL runs as one implicit transaction;
    the connection is in autocommit mode for that call, so psycopg2 sends no BEGIN and no
    COMMIT of its own. Values come back as psycopg2 makes them (UUID, datetimes in UTC,
    arrays as lists), without SQLAlchemy's per-row processing. SQLite: the statement through
    SQLAlchemy Core, committed.

    Inside a transaction the session has already begun (or on a session bound to a
    connection, as in tests), the statement joins it and the caller commits.
    """
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if session.in_transaction() or not isinstance(bind, Engine):
        connection = session.connection()
        if postgres:
            compiled = _postgres_sql(statement, bind.dialect)
            return _rows(connection.exec_driver_sql(compiled.sql, {**compiled.params, **params}))
        return _rows(connection.execute(statement, params))
    if not postgres:
        with session.begin():
            return _rows(session.connection().execute(statement, params))
    with bind.connect() as connection:
        driver = connection.connection.dbapi_connection
        assert driver is not None  # noqa: S101 - a checked-out connection has one
        settings = _settings_params(connection, session.info.get(_RLS_INFO_KEY))
        driver.autocommit = True
        try:
            compiled = _postgres_sql(statement, bind.dialect)
            sql = f"{SETTINGS_SQL}; {compiled.sql}"
            return _rows(connection.exec_driver_sql(sql, {**compiled.params, **params, **settings}))
        finally:
            # Unless the call found the connection dead (SQLAlchemy has discarded it then).
            if not driver.closed:
                driver.autocommit = False


def _rows(result: CursorResult[Any]) -> Sequence[Row[Any]]:
    return result.all() if result.returns_rows else ()


def begin(session: Session) -> None:
    """Start the session's transaction now, so that the run() calls that follow share it
    (several statements that must commit together). The caller commits."""
    if not session.in_transaction():
        session.begin()


def _bind_rls(session: Session, name: str, value: str) -> None:
    values: dict[str, str] = session.info.setdefault(_RLS_INFO_KEY, {})
    if values.get(name) == value:
        return  # already in force (or applied when the next transaction begins)
    values[name] = value
    if not session.in_transaction():
        return  # the next transaction applies it in after_begin, or run() sends it along
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(SETTINGS_SQL, _settings_params(connection, values))


def bind_session_to_user(session: Session, user_id: uuid.UUID) -> None:
    """Row-level security: from now on this session sees and writes only user_id's rows."""
    _bind_rls(session, RLS_USER_SETTING, str(user_id))


def bind_session_to_refresh_token(session: Session, token_hash: str) -> None:
    """Row-level security: allow the one refresh-token row with this hash (before the user
    is known). Holding the hash means holding the token, so this reveals nothing more."""
    _bind_rls(session, RLS_REFRESH_TOKEN_SETTING, token_hash)


def rls_bypass_reason(engine: Engine) -> str | None:
    """Why the database role ignores row-level security, or None if policies apply to it."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        row = connection.execute(_ROLE_FLAGS).one()
    if row.rolsuper:
        return f"role {row.current_user!r} is a superuser"
    if row.rolbypassrls:
        return f"role {row.current_user!r} has BYPASSRLS"
    return None


def create_db_engine(settings: Settings) -> Engine:
    url = normalize_database_url(settings.database_url)
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # Bound values (emails, hashes) stay out of logs and error messages.
            hide_parameters=True,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=settings.db_ping_after_idle_seconds == 0,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "application_name": "tasks-api",
        },
        execution_options={STATEMENT_TIMEOUT_OPTION: settings.db_statement_timeout_ms},
    )
    if settings.db_ping_after_idle_seconds > 0:
        _ping_after_idle(engine, settings.db_ping_after_idle_seconds)
    return engine


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
