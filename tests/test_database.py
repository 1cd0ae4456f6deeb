from pathlib import Path

from sqlalchemy import text

from app.core.config import Settings
from app.database import create_db_engine


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


def test_postgres_engine_pings_before_use() -> None:
    settings = Settings(database_url="postgres://u@127.0.0.1/db", _env_file=None)  # type: ignore[call-arg]
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
