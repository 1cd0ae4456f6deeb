"""Engine and session factory for the embedded SQLite default and PostgreSQL (Neon included)."""

import time
import uuid
import weakref
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    bindparam,
    create_engine,
    event,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
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
_FOLDED_INFO_KEY = "settings_folded"  # set while first_row_with_settings begins a transaction
_ROLE_FLAGS = text(
    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)

WRITE_OPTION = "tasks_api_write"
# Set on the engine a request's Session uses: its after_begin sets the statement timeout in
# the same statement as the row-level security settings, one round trip instead of two.
SESSION_TIMEOUT_OPTION = "tasks_api_session_statement_timeout_ms"


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


def _configure_postgres(engine: Engine, statement_timeout_ms: int) -> None:
    # SET LOCAL rather than a startup `options` parameter or a session-level SET: it lasts
    # exactly one transaction, so it also works behind a transaction-mode pooler (Neon's
    # PgBouncer), which rejects startup options and shares server sessions between clients.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(SESSION_TIMEOUT_OPTION):
            return  # the request Session's after_begin sets it (see _session_settings)
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")


class SessionEngines(NamedTuple):
    """The engine a request's Session binds to, for read and for write requests.

    Both share the application engine's pool; only their execution options differ.
    """

    read: Engine
    write: Engine


def session_engines(engine: Engine, statement_timeout_ms: int) -> SessionEngines:
    """SQLite: write transactions start with BEGIN IMMEDIATE. PostgreSQL: the Session sets the
    statement timeout together with the row-level security settings (one round trip)."""
    if engine.dialect.name == "sqlite":
        return SessionEngines(engine, engine.execution_options(**{WRITE_OPTION: True}))
    if engine.dialect.name == "postgresql" and statement_timeout_ms > 0:
        timed = engine.execution_options(**{SESSION_TIMEOUT_OPTION: int(statement_timeout_ms)})
        return SessionEngines(timed, timed)
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


# Per connection pool (an engine and its execution-option copies share one): does its role
# obey row-level security? A superuser or BYPASSRLS role ignores the policies, so setting
# them would cost work per transaction for nothing.
_rls_applies: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def _role_obeys_rls(connection: Connection) -> bool:
    pool = connection.engine.pool
    known = _rls_applies.get(pool)
    if known is None:
        row = connection.execute(_ROLE_FLAGS).one()
        known = not (row.rolsuper or row.rolbypassrls)
        _rls_applies[pool] = known
    return known


AnySelect = Select[*tuple[Any, ...]]


# Transaction-local settings, applied with set_config(..., true): they last one transaction,
# so they are safe behind a transaction-mode pooler such as Neon's. Fixed texts, so the
# statement cache hits.
@cache
def _settings_calls(timeout: bool, rls: bool) -> tuple[ColumnElement[Any], ...]:
    settings: list[tuple[str, str]] = []
    if timeout:
        settings.append(("statement_timeout", "setting_statement_timeout"))
    if rls:
        settings.append((RLS_USER_SETTING, "setting_user_id"))
        settings.append((RLS_REFRESH_TOKEN_SETTING, "setting_refresh_token_hash"))
    return tuple(
        func.set_config(literal_column(f"'{name}'"), bindparam(param), literal_column("true"))
        for name, param in settings
    )


@cache
def _settings_statement(timeout: bool, rls: bool) -> AnySelect:
    return select(*_settings_calls(timeout, rls))


@cache
def _with_settings(statement: AnySelect, timeout: bool, rls: bool) -> AnySelect:
    """`statement` with the settings applied in it: its rows (or one row of NULLs when it has
    none, so the settings always run), the set_config calls as extra columns."""
    first = statement.subquery("first")
    one = select(literal(1).label("one")).subquery("one")
    calls = _settings_calls(timeout, rls)
    return select(*first.c, *calls).select_from(one.outerjoin(first, true()))


class _Settings(NamedTuple):
    timeout: bool
    rls: bool
    params: dict[str, str]


def _settings_for(
    connection: Connection, rls_values: dict[str, str] | None, *, new_transaction: bool
) -> _Settings:
    """Which settings a transaction needs: the statement timeout when it begins, and the
    row-level security values if the role obeys the policies."""
    timeout = (
        connection.get_execution_options().get(SESSION_TIMEOUT_OPTION) if new_transaction else None
    )
    rls = rls_values is not None and _role_obeys_rls(connection)
    values = rls_values or {}
    # Not named like anything a statement folded with them binds (first_row_with_settings).
    params = {
        "setting_statement_timeout": str(timeout),
        "setting_user_id": values.get(RLS_USER_SETTING, ""),
        "setting_refresh_token_hash": values.get(RLS_REFRESH_TOKEN_SETTING, ""),
    }
    return _Settings(bool(timeout), rls, params)


def _session_settings(
    connection: Connection, rls_values: dict[str, str] | None, *, new_transaction: bool
) -> None:
    settings = _settings_for(connection, rls_values, new_transaction=new_transaction)
    if settings.timeout or settings.rls:
        connection.execute(_settings_statement(settings.timeout, settings.rls), settings.params)


@event.listens_for(OrmSession, "after_begin")
def _settings_on_begin(
    session: OrmSession, _tx: SessionTransaction, connection: Connection
) -> None:
    # Re-applied whenever a bound session starts a new transaction, unless
    # first_row_with_settings carries them in its own statement.
    if connection.dialect.name == "postgresql" and not session.info.get(_FOLDED_INFO_KEY):
        _session_settings(connection, session.info.get(_RLS_INFO_KEY), new_transaction=True)


def first_row_with_settings(
    session: Session, statement: AnySelect, params: dict[str, Any]
) -> Row[Any] | None:
    """The first row of `statement`, run as the first statement of the session's transaction
    with the transaction's settings (statement timeout, row-level security) applied in the
    same statement: one round trip instead of two.

    Only for a statement that reads no table under row-level security: the settings take
    effect for the statements after it. Its columns keep their names in the row; on
    PostgreSQL a statement that finds nothing gives a row of NULLs.
    """
    if session.in_transaction():
        return session.execute(statement, params).first()
    session.info[_FOLDED_INFO_KEY] = True
    try:
        connection = session.connection()  # begins the transaction; after_begin stands aside
    finally:
        del session.info[_FOLDED_INFO_KEY]
    if connection.dialect.name == "postgresql":
        rls_values = session.info.get(_RLS_INFO_KEY)
        settings = _settings_for(connection, rls_values, new_transaction=True)
        if settings.timeout or settings.rls:
            folded = _with_settings(statement, settings.timeout, settings.rls)
            return connection.execute(folded, {**params, **settings.params}).first()
    return connection.execute(statement, params).first()


def _bind_rls(session: Session, name: str, value: str) -> None:
    values: dict[str, str] = session.info.setdefault(_RLS_INFO_KEY, {})
    if values.get(name) == value:
        return  # already in force (or applied when the next transaction begins)
    values[name] = value
    if not session.in_transaction():
        return  # the next transaction applies it in after_begin
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _session_settings(connection, values, new_transaction=False)


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
    )
    if settings.db_statement_timeout_ms:
        _configure_postgres(engine, settings.db_statement_timeout_ms)
    if settings.db_ping_after_idle_seconds > 0:
        _ping_after_idle(engine, settings.db_ping_after_idle_seconds)
    return engine


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
