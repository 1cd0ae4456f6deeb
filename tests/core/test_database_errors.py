"""Which database errors become a 503 problem, and which stay a 500 (bugs must stay visible)."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from app import migrate
from app.core.errors import is_database_unavailable
from app.database import create_db_engine
from app.main import create_app
from tests.conftest import admin_url, make_settings
from tests.factories import assert_problem, make_account


def _raised(engine: Engine, sql: str) -> DBAPIError:
    with engine.connect() as conn, pytest.raises(DBAPIError) as info:
        conn.execute(text(sql))
    return info.value


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def sqlite_client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """An app on its own SQLite file (no test transaction), with a 100 ms busy timeout."""
    settings = make_settings(sqlite_url, tmp_path, sqlite_busy_timeout_ms=100)
    engine = create_db_engine(settings)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client
    engine.dispose()


def test_sqlite_lock_past_busy_timeout_is_503_not_database_is_locked(
    sqlite_client: TestClient, sqlite_url: str
) -> None:
    client = sqlite_client
    account = make_account(client)
    other_writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/api/v1/tasks", json={"title": "x"}, headers=account.headers)
    finally:
        other_writer.rollback()
        other_writer.close()
    body = assert_problem(response, 503)
    assert body["type"] == "/problems/database-unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert "locked" not in response.text
    # Once the other writer is gone, the same request succeeds.
    retried = client.post("/api/v1/tasks", json={"title": "x"}, headers=account.headers)
    assert retried.status_code == 201, retried.text


def test_sqlite_busy_is_unavailable_but_missing_table_is_a_bug(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, connect_args={"timeout": 0})
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = _raised(engine, "DELETE FROM tasks")
    finally:
        holder.rollback()
        holder.close()
    assert isinstance(locked, OperationalError)
    assert is_database_unavailable(locked)
    assert not is_database_unavailable(_raised(engine, "SELECT * FROM no_such_table"))
    assert not is_database_unavailable(_raised(engine, "SELEKT 1"))
    engine.dispose()


def test_postgres_refused_connection_is_unavailable() -> None:
    # Port 1 on 127.0.0.1 refuses connections: what a stopped database looks like.
    engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/postgres")
    with pytest.raises(OperationalError) as info:
        engine.connect()
    assert is_database_unavailable(info.value)
    engine.dispose()


def test_postgres_query_errors_are_bugs_but_timeouts_are_unavailable(
    throwaway_postgres: object,
) -> None:
    engine = create_engine(admin_url())
    assert not is_database_unavailable(_raised(engine, "SELECT * FROM no_such_table"))
    assert not is_database_unavailable(_raised(engine, "SELECT 1/0"))
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 50"))
        with pytest.raises(OperationalError) as info:
            conn.execute(text("SELECT pg_sleep(2)"))
    assert is_database_unavailable(info.value)
    engine.dispose()
