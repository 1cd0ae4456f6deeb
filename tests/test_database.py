import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from app.database import create_db_engine
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
