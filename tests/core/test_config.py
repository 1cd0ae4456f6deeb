import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Environment, Settings, ensure_secret_key
from app.database import normalize_database_url


def test_production_requires_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(environment=Environment.production, _env_file=None)  # type: ignore[call-arg]


def test_production_requires_32_byte_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(environment=Environment.production, secret_key="short", _env_file=None)  # type: ignore[call-arg, arg-type]
    key = secrets.token_urlsafe(32)
    ok = Settings(environment=Environment.production, secret_key=key, _env_file=None)  # type: ignore[call-arg, arg-type]
    assert ok.signing_key() == key


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret_key"
    first = ensure_secret_key(Settings(secret_key_file=key_file, _env_file=None))  # type: ignore[call-arg]
    second = ensure_secret_key(Settings(secret_key_file=key_file, _env_file=None))  # type: ignore[call-arg]
    assert first.signing_key() == second.signing_key()
    assert len(first.signing_key()) >= 32
    assert key_file.stat().st_mode & 0o077 == 0


def test_cors_origins_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:3000, https://app.example.com")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_origins == ["http://localhost:3000", "https://app.example.com"]


def test_cors_origins_default_empty() -> None:
    assert Settings(_env_file=None).cors_origins == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        (
            "postgresql://u:p@ep-x-pooler.eu.aws.neon.tech/db?sslmode=require&channel_binding=require",
            "postgresql+psycopg2://u:p@ep-x-pooler.eu.aws.neon.tech/db?sslmode=require&channel_binding=require",
        ),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:///./data/tasks.db", "sqlite:///./data/tasks.db"),
    ],
)
def test_database_url_normalization(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected
