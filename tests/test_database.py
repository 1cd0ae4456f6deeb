import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, create_engine, event, literal_column, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.core.config import Settings
from app.database import create_db_engine, first_row_with_settings, session_engines
from tests.conftest import ThrowawayPostgres, admin_url


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nested' / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "x.db").exists()


def test_postgres_engine_pings_every_checkout_when_idle_threshold_is_zero() -> None:
    settings = Settings(
        database_url="postgres://u@127.0.0.1/db",
        db_ping_after_idle_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = create_db_engine(settings)
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


def test_postgres_statement_timeout_is_set_per_transaction(
    throwaway_postgres: object, tmp_path: Path
) -> None:
    from tests.conftest import admin_url, make_settings

    settings = make_settings(admin_url(), tmp_path, db_statement_timeout_ms=1234)
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
    finally:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _kill_backend(pid: int) -> None:
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def _pooled_engine(throwaway_postgres: ThrowawayPostgres, idle_seconds: float) -> Engine:
    settings = Settings(
        database_url=throwaway_postgres.create(),
        db_pool_size=1,
        db_max_overflow=0,
        db_ping_after_idle_seconds=idle_seconds,
        _env_file=None,  # type: ignore[call-arg]
    )
    return create_db_engine(settings)


def test_postgres_connection_that_died_while_idle_is_replaced_before_use(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    engine = _pooled_engine(throwaway_postgres, idle_seconds=0.05)
    try:
        first = _backend_pid(engine)
        _kill_backend(first)
        time.sleep(0.2)
        # Idle past the threshold: pinged, found dead, replaced; the caller sees no error.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_postgres_recently_used_connection_is_not_pinged_and_the_pool_recovers(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    engine = _pooled_engine(throwaway_postgres, idle_seconds=3600)
    try:
        first = _backend_pid(engine)
        _kill_backend(first)
        # Used moments ago, so no ping (the round trip saved on every request); a connection
        # killed in that window fails once...
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # ...and the disconnect invalidates the pool, so the next request connects afresh.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def _first_row_probe(engine: Engine) -> tuple[Any, str | None]:
    """Checks the row of a value that matches; returns the row for one that does not and the
    statement timeout in force after the first statement."""
    statement: Any = select(literal_column("v").label("v")).select_from(
        text("(SELECT 1 AS v UNION ALL SELECT 2) AS t")
    )
    matching = statement.where(literal_column("v") == bindparam("wanted"))
    with Session(engine) as session:
        found = first_row_with_settings(session, matching, {"wanted": 2})
        assert found is not None
        assert found.v == 2
        timeout = None
        if engine.dialect.name == "postgresql":
            timeout = session.execute(text("SHOW statement_timeout")).scalar()
    with Session(engine) as session:
        missing = first_row_with_settings(session, matching, {"wanted": 3})
    return missing, timeout


def test_first_row_with_settings_starts_the_transaction_with_its_settings(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(throwaway_postgres.create(), tmp_path, db_statement_timeout_ms=2345)
    engine = create_db_engine(settings)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        missing, timeout = _first_row_probe(session_engines(engine, 2345).read)
    finally:
        engine.dispose()
    # PostgreSQL answers a statement that finds nothing with a row of NULLs: the settings
    # ran all the same.
    assert missing is not None
    assert missing.v is None
    assert timeout == "2345ms"
    # The probe and the timeout in one statement; no separate settings statement.
    folded = [s for s in statements if "set_config('statement_timeout'" in s]
    assert len(folded) == 2
    assert all("UNION ALL SELECT 2" in s for s in folded)


def test_first_row_with_settings_on_sqlite_is_the_plain_statement(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", _env_file=None)  # type: ignore[call-arg]
    engine = create_db_engine(settings)
    try:
        missing, _ = _first_row_probe(session_engines(engine, 0).read)
    finally:
        engine.dispose()
    assert missing is None
