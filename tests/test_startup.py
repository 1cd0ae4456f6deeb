"""Start-up behaviour of `tasks-api serve`: SQLite migrates itself, PostgreSQL must be migrated."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ThrowawayPostgres

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("tasks-api")


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AUTO_"))}
    env.update({"ENVIRONMENT": "test", "SECRET_KEY": "x" * 40, **overrides})
    return env


def test_serve_refuses_when_postgres_schema_is_behind(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = throwaway_postgres.create()
    result = subprocess.run(
        [str(CLI), "serve", "--port", "1"],
        env=_env(DATABASE_URL=url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "refusing to start" in result.stderr
    assert "tasks-api migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_then_schema_is_current(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = throwaway_postgres.create()
    subprocess.run(
        [str(CLI), "migrate"], env=_env(DATABASE_URL=url), cwd=tmp_path, check=True, timeout=120
    )
    from sqlalchemy import create_engine

    from app import migrate
    from app.database import normalize_database_url

    engine = create_engine(normalize_database_url(url))
    try:
        migrate.check_up_to_date(engine)
    finally:
        engine.dispose()


def test_sqlite_default_is_created_and_migrated_on_start(tmp_path: Path) -> None:
    from app.core.config import Settings
    from app.main import create_app

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'data' / 'tasks.db'}",
        secret_key="y" * 40,  # type: ignore[arg-type]
    )
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
    assert (tmp_path / "data" / "tasks.db").exists()


@pytest.mark.parametrize("path", [".env.example"])
def test_env_example_documents_every_setting(path: str) -> None:
    from app.core.config import Settings

    text = (ROOT / path).read_text()
    documented = {
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - documented == set(), "add these settings to .env.example"
