"""Engine and session factory for the embedded SQLite default and PostgreSQL (Neon included)."""

import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ClauseElement,
    Connection,
    Dialect,
    Engine,
    Executable,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, StatementError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import NullType
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
# ... and whether run() may use server-side prepared statements (DB_PREPARED_STATEMENTS).
PREPARE_OPTION = "tasks_api_prepare"


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


def _settings_params(timeout: int, rls_values: dict[str, str] | None) -> dict[str, str | None]:
    """Values for SETTINGS_SQL: the engine's statement timeout (0 = none) and the row-level
    security values bound to the session (none: no rows at all, the policies fail closed).

    SET LOCAL-style settings rather than startup `options` or a session-level SET: they last
    exactly one transaction, so they work behind a transaction-mode pooler (Neon's
    PgBouncer), which rejects startup options and shares server sessions between clients."""
    values = rls_values or {}
    return {
        "setting_statement_timeout": str(timeout) if timeout else None,
        "setting_user_id": values.get(RLS_USER_SETTING, ""),
        "setting_refresh_token_hash": values.get(RLS_REFRESH_TOKEN_SETTING, ""),
    }


def _timeout(connection: Connection) -> int:
    timeout: int = connection.get_execution_options().get(STATEMENT_TIMEOUT_OPTION, 0)
    return timeout


@event.listens_for(OrmSession, "after_begin")
def _settings_on_begin(
    session: OrmSession, _tx: SessionTransaction, connection: Connection
) -> None:
    # Every transaction a Session begins on PostgreSQL starts with its settings.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            SETTINGS_SQL, _settings_params(_timeout(connection), session.info.get(_RLS_INFO_KEY))
        )


class _Prepared(NamedTuple):
    name: str
    prepare: str  # PREPARE name(types) AS <the statement, with $1, $2... parameters>
    execute: str  # EXECUTE name(%(first)s, %(second)s...)


class _Compiled(NamedTuple):
    sql: str
    # Values the statement itself binds (literals in it), under the names the SQL uses.
    params: dict[str, Any]
    prepared: _Prepared


_PYFORMAT = re.compile(r"%\(([^)]+)\)s")
_COLLATION = re.compile(r' COLLATE "[^"]*"')


@lru_cache(maxsize=256)
def _postgres_sql(statement: Executable, dialect: Dialect) -> _Compiled:
    """The statement compiled once for this engine's psycopg2 dialect (pyformat parameters),
    and the same as a server-side prepared statement, which PostgreSQL then parses and plans
    once per connection instead of on every call (about 0.1 ms of its CPU for a task read).
    The prepared statement declares each parameter's type as SQLAlchemy knows it, as a
    literal from psycopg2 would have had it."""
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
    sql = str(compiled)
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = _PYFORMAT.sub(positional, sql).replace("%%", "%")
    types = []
    for parameter in names:
        bind_type = compiled.binds[parameter].type
        untyped = isinstance(bind_type, NullType)
        if untyped:
            types.append("unknown")
            continue
        # A parameter has a type but no collation (a column's, like tasks.position's "C").
        types.append(_COLLATION.sub("", bind_type.compile(dialect=dialect)))
    name = "tasks_api_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
    declared = f"({', '.join(types)})" if types else ""
    arguments = f"({', '.join(f'%({parameter})s' for parameter in names)})" if names else ""
    prepared = _Prepared(name, f"PREPARE {name}{declared} AS {body}", f"EXECUTE {name}{arguments}")
    return _Compiled(sql, compiled.params, prepared)


Rows = list[tuple[Any, ...]]


def run(
    session: Session, statement: Executable, params: Mapping[str, Any], *, prepare: bool = False
) -> Rows:
    """The rows of one statement, as tuples in its column order, run as a transaction of its
    own in one round trip. For the hottest statements: task reads and single-row writes.

    `statement` is built once (module level or functools.cache): its SQL is compiled once
    and cached by identity, then executed on a pooled psycopg2 connection directly, because
    SQLAlchemy's execution layer (result metadata, row objects) cost more than the
    statement's own round trip. The values come back as psycopg2 makes them: UUIDs,
    datetimes in UTC, arrays as lists.

    PostgreSQL: the transaction settings and the statement go in one simple-query call,
    `SELECT set_config(...); <statement>`, which PostgreSQL runs as one implicit transaction;
    the connection is in autocommit mode for that call, so psycopg2 sends no BEGIN and no
    COMMIT of its own. SQLite: the statement through SQLAlchemy Core, committed.

    `prepare`: run it as a server-side prepared statement (unless DB_PREPARED_STATEMENTS is
    off), for statements whose best plan does not depend on the values, such as those on one
    row by its primary key. PostgreSQL may plan a prepared statement once for any values (a
    generic plan), which for a keyword search would skip the search index.

    Inside a transaction the session has already begun (or on a session bound to a
    connection, as in tests), the statement joins it and the caller commits.
    """
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if session.in_transaction() or not isinstance(bind, Engine):
        connection = session.connection()
        if postgres:
            compiled = _postgres_sql(statement, bind.dialect)
            result = connection.exec_driver_sql(compiled.sql, {**compiled.params, **params})
        else:
            result = connection.execute(statement, params)
        return [tuple(row) for row in result] if result.returns_rows else []
    if not postgres:
        with session.begin():
            result = session.connection().execute(statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
    compiled = _postgres_sql(statement, bind.dialect)
    options = bind.get_execution_options()
    settings = _settings_params(
        options.get(STATEMENT_TIMEOUT_OPTION, 0), session.info.get(_RLS_INFO_KEY)
    )
    prepared = compiled.prepared if prepare and options.get(PREPARE_OPTION) else None
    return _call_driver(bind, compiled.sql, {**compiled.params, **params, **settings}, prepared)


# Beyond this many on one connection, they are all dropped first (list shapes are many).
MAX_PREPARED_PER_CONNECTION = 64


def _call_driver(
    engine: Engine, sql: str, params: dict[str, Any], prepared: _Prepared | None
) -> Rows:
    """The settings and `sql` (or its prepared statement) on a pooled connection in
    autocommit mode, in one call. A driver error is raised as SQLAlchemy would raise it (a
    DBAPIError: a refused or lost connection, or a timeout, becomes the app's 503), and a
    connection found dead is discarded from the pool, as SQLAlchemy does."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except dbapi_error as error:  # could not connect
        raise _wrapped(engine, sql, params, error, lost=True) from error
    driver = connection.dbapi_connection
    assert driver is not None  # noqa: S101 - a checked-out connection has one
    # What this connection has prepared; `info` lives and dies with the connection.
    done: set[str] = connection.info.setdefault("prepared_statements", set())
    preparing = prepared is not None and prepared.name not in done
    if prepared is None:
        sql = f"{SETTINGS_SQL}; {sql}"
    elif not preparing:
        sql = f"{SETTINGS_SQL}; {prepared.execute}"
    else:
        forget = "DEALLOCATE ALL; " if len(done) >= MAX_PREPARED_PER_CONNECTION else ""
        sql = f"{forget}{prepared.prepare}; {SETTINGS_SQL}; {prepared.execute}"
    cursor = None
    try:
        driver.autocommit = True
        cursor = driver.cursor()
        cursor.execute(sql, params)
        if prepared is not None and preparing:
            if len(done) >= MAX_PREPARED_PER_CONNECTION:
                done.clear()
            done.add(prepared.name)
        rows: Rows = list(cursor.fetchall()) if cursor.description else []
        cursor.close()
        driver.autocommit = False
        return rows
    except dbapi_error as error:
        lost = engine.dialect.is_disconnect(error, driver, cursor)
        # PREPARE is not transactional: after a failed call that prepared, whether the
        # statement exists is unknown, so the connection goes rather than guess.
        if lost:
            # As SQLAlchemy does for its own connections on a disconnect: every connection
            # older than this moment is replaced at its next checkout (a server restart or a
            # killed backend takes the pool's other connections with it, the background
            # jobs' included), not only this one.
            engine.pool._invalidate(connection, error)
        elif preparing:
            connection.invalidate(error)
        elif not driver.closed:
            driver.autocommit = False
        raise _wrapped(engine, sql, params, error, lost=lost) from error
    finally:
        connection.close()  # back to the pool


def _wrapped(
    engine: Engine, sql: str, params: dict[str, Any], error: Exception, *, lost: bool
) -> StatementError:
    return DBAPIError.instance(
        sql,
        params,
        error,
        engine.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=engine.dialect,
    )


def commit(session: Session) -> None:
    """Commit the session's transaction, if run() joined one; after a run() that was its own
    transaction there is nothing left to commit (and no bookkeeping to pay for). Inside
    one_transaction(), the block commits at its end instead."""
    if session.in_transaction() and not commits_held(session):
        session.commit()


_HOLD_KEY = "commits_held"


def commits_held(session: Session) -> bool:
    """Whether a one_transaction() block owns the session's transaction."""
    return bool(session.info.get(_HOLD_KEY))


@contextmanager
def one_transaction(session: Session) -> Iterator[None]:
    """Service calls inside the block share one transaction: run() joins it, commit() waits
    for the block's end, and an exception rolls all of it back. For the writes that must be
    all or nothing across service calls: a batch, or a write and its Idempotency-Key record.
    A block inside another joins it.
    """
    if commits_held(session):
        yield  # inside another block: that one commits or rolls back
        return
    begin(session)
    session.info[_HOLD_KEY] = True
    try:
        yield
    except BaseException:
        session.info.pop(_HOLD_KEY, None)
        session.rollback()
        raise
    session.info.pop(_HOLD_KEY, None)
    session.commit()


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
        connection.exec_driver_sql(SETTINGS_SQL, _settings_params(_timeout(connection), values))


def bind_session_to_user(session: Session, user_id: uuid.UUID) -> None:
    """Row-level security: from now on this session sees and writes only user_id's rows."""
    _bind_rls(session, RLS_USER_SETTING, str(user_id))


def bind_session_to_refresh_token(session: Session, token_hash: str) -> None:
    """Row-level security: allow the one refresh-token row with this hash (before the user
    is known). Holding the hash means holding the token, so this reveals nothing more."""
    _bind_rls(session, RLS_REFRESH_TOKEN_SETTING, token_hash)


def bind_session_to_personal_token(session: Session, token_hash: str) -> None:
    """Row-level security: allow the one personal-token row with this hash, before its user
    is known. The setting holds the presented token's hash, whichever kind (migration 0011)."""
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
        execution_options={
            STATEMENT_TIMEOUT_OPTION: settings.db_statement_timeout_ms,
            PREPARE_OPTION: settings.db_prepared_statements_enabled,
        },
    )
    if settings.db_ping_after_idle_seconds > 0:
        _ping_after_idle(engine, settings.db_ping_after_idle_seconds)
    return engine


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
