"""`tasks-api purge` forgets the stored responses of Idempotency-Key requests past the TTL,
on both databases, and on PostgreSQL under row-level security as an ordinary role."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.engine import make_url

from app import migrate
from app.database import normalize_database_url
from app.models import IdempotencyKey, User
from tests.conftest import ThrowawayPostgres, fresh_database_url
from tests.live import run_cli, server_env

USERS = cast(Table, User.__table__)  # type: ignore[attr-defined]
KEYS = cast(Table, IdempotencyKey.__table__)  # type: ignore[attr-defined]


def _seed(url: str, ages_in_hours: dict[str, int]) -> None:
    engine = create_engine(normalize_database_url(url))
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(USERS).values(
                id=user_id,
                email=f"{user_id}@example.com",
                token_version=0,
                timezone="UTC",
                created_at=now,
                updated_at=now,
            )
        )
        for key, age in ages_in_hours.items():
            conn.execute(
                insert(KEYS).values(
                    user_id=user_id,
                    key=key,
                    fingerprint="f",
                    status_code=201,
                    body=b"{}",
                    created_at=now - timedelta(hours=age),
                )
            )
    engine.dispose()


def _keys(url: str) -> list[str]:
    engine = create_engine(normalize_database_url(url))
    with engine.connect() as conn:
        keys = sorted(conn.execute(text("SELECT key FROM idempotency_keys")).scalars())
    engine.dispose()
    return keys


def test_purge_deletes_expired_keys(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    pg = request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    url = fresh_database_url(backend, tmp_path_factory, pg)
    migrate.upgrade(url)
    _seed(url, {"fresh": 1, "old": 30, "older": 100})
    result = run_cli("purge", env=server_env(tmp_path, url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "purged 2 expired idempotency key(s)" in result.stdout
    assert _keys(url) == ["fresh"]
    shorter = server_env(tmp_path, url, {"IDEMPOTENCY_TTL_HOURS": "1"})
    assert "purged 1 " in run_cli("purge", env=shorter, cwd=tmp_path).stdout
    assert _keys(url) == []


def test_purge_works_under_row_level_security(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    owner_url = throwaway_postgres.create()
    migrate.upgrade(owner_url)
    _seed(owner_url, {"fresh": 1, "old": 30})
    role = f"tasks_api_purge_{uuid.uuid4().hex[:10]}"
    owner = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    database = make_url(owner_url).database
    with owner.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        )
    app_url = make_url(owner_url).set(username=role).render_as_string(hide_password=False)
    try:
        # Without the purge's setting, the role sees no one's keys.
        app = create_engine(app_url)
        with app.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar() == 0
        app.dispose()
        result = run_cli("purge", env=server_env(tmp_path, app_url), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "purged 1 " in result.stdout
        assert _keys(owner_url) == ["fresh"]
    finally:
        with owner.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()
