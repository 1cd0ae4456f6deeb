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


def _production(**values: object) -> Settings:
    base: dict[str, object] = {
        "environment": Environment.production,
        "secret_key": secrets.token_urlsafe(48),
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg, arg-type]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"secret_key": "k" * 48}, "SECRET_KEY is not random"),
        ({"secret_key": "change-me-to-a-long-random-string-of-at-least-32-bytes"}, "SECRET_KEY"),
        ({"secret_key": "test-secret-key-that-is-long-enough-0123456789"}, "SECRET_KEY"),
        ({"debug": True}, "DEBUG must be false"),
        ({"cors_origins": ["*"]}, "CORS_ORIGINS"),
        ({"cors_origins": ["https://ok.example", "*"]}, "CORS_ORIGINS"),
    ],
)
def test_production_refuses_unsafe_settings(values: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        _production(**values)


def test_production_names_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        _production(secret_key="short", debug=True, cors_origins=["*"])
    message = str(info.value)
    assert "SECRET_KEY" in message
    assert "DEBUG" in message
    assert "CORS_ORIGINS" in message


def test_production_accepts_safe_settings() -> None:
    settings = _production(cors_origins=["https://app.example.com"])
    assert settings.debug is False


def test_development_tolerates_what_production_refuses() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, debug=True, cors_origins=["*"], secret_key="k" * 48
    )
    assert settings.debug is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RATE_LIMIT_PER_USER", "lots"),
        ("RATE_LIMIT_LOGIN_PER_ACCOUNT", "5/minute;10/hour"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip"),
    ],
)
def test_bad_limit_and_proxy_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_limits_and_proxies_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_ENABLED", "false")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3 per 10 minutes")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.rate_limit_enabled is False
    assert settings.rate_limit_login_per_account == "3 per 10 minutes"
    assert settings.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]


PROVIDER = {
    "auth_jwks_url": "https://app.example.com/api/auth/jwks",
    "auth_issuer": "https://app.example.com",
    "auth_audience": "https://app.example.com",
}


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_provider_settings_accepted() -> None:
    settings = _settings(**PROVIDER, local_accounts_enabled=False)
    assert settings.provider_enabled
    assert not _settings().provider_enabled


@pytest.mark.parametrize("missing", ["auth_issuer", "auth_audience"])
def test_provider_needs_issuer_and_audience(missing: str) -> None:
    values = {key: value for key, value in PROVIDER.items() if key != missing}
    with pytest.raises(ValidationError, match="AUTH_ISSUER and AUTH_AUDIENCE"):
        _settings(**values)


def test_local_accounts_off_needs_a_provider() -> None:
    with pytest.raises(ValidationError, match="needs a provider"):
        _settings(local_accounts_enabled=False)


def test_provider_issuer_must_differ_from_ours() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        _settings(**{**PROVIDER, "auth_issuer": "tasks-api"})


def test_shared_secret_must_be_long() -> None:
    with pytest.raises(ValidationError, match="AUTH_SHARED_SECRET must be at least 32 bytes"):
        _settings(**PROVIDER, auth_shared_secret="short")
    assert _settings(
        auth_issuer="frontend", auth_audience="tasks", auth_shared_secret="s" * 32
    ).provider_enabled


def test_jwks_url_must_be_https_in_production() -> None:
    production = {"environment": Environment.production, "secret_key": secrets.token_urlsafe(32)}
    with pytest.raises(ValidationError, match="https"):
        _settings(**production, **{**PROVIDER, "auth_jwks_url": "http://idp.example.com/jwks"})
    _settings(**production, **{**PROVIDER, "auth_jwks_url": "http://127.0.0.1:3000/jwks"})
    with pytest.raises(ValidationError, match="http"):
        _settings(**{**PROVIDER, "auth_jwks_url": "file:///etc/passwd"})


def test_compat_mismatch_status_is_403_or_404() -> None:
    assert _settings(compat_mismatch_status=404).compat_mismatch_status == 404
    with pytest.raises(ValidationError):
        _settings(compat_mismatch_status=401)


def test_frontend_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPAT_MISMATCH_STATUS", "404")
    monkeypatch.setenv("LOCAL_ACCOUNTS_ENABLED", "false")
    monkeypatch.setenv("COMPAT_ROUTES_ENABLED", "false")
    monkeypatch.setenv("AUTH_SHARED_SECRET", "s" * 40)
    monkeypatch.setenv("AUTH_ISSUER", "https://app.example.com")
    monkeypatch.setenv("AUTH_AUDIENCE", "https://api.example.com")
    settings = _settings()
    assert settings.compat_mismatch_status == 404
    assert settings.local_accounts_enabled is False
    assert settings.compat_routes_enabled is False
    assert settings.auth_shared_secret is not None


def test_several_workers_without_redis_are_warned_about() -> None:
    from app.cli import serve_warnings

    alone = Settings(_env_file=None)  # type: ignore[call-arg]
    assert serve_warnings(alone, 1) == []
    [warning] = serve_warnings(alone, 4)
    assert "REDIS_URL" in warning
    assert "4x" in warning
    shared = Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0")  # type: ignore[call-arg]
    assert serve_warnings(shared, 4) == []
    off = Settings(_env_file=None, rate_limit_enabled=False)  # type: ignore[call-arg]
    assert serve_warnings(off, 4) == []


@pytest.mark.parametrize(
    ("url", "setting", "expected"),
    [
        ("postgresql://u@db.example.com/tasks", None, True),
        ("postgresql://u@ep-name-1-pooler.eu-central-1.aws.neon.tech/tasks", None, False),
        ("postgresql://u@ep-name-1.eu-central-1.aws.neon.tech/tasks", None, True),
        ("postgresql://u@pgbouncer.internal/tasks", False, False),
        ("postgresql://u@ep-name-1-pooler.eu-central-1.aws.neon.tech/tasks", True, True),
    ],
)
def test_prepared_statements_are_off_behind_neon_pooler_unless_set(
    url: str, setting: bool | None, expected: bool
) -> None:
    settings = Settings(
        database_url=url,
        db_prepared_statements=setting,
        _env_file=None,  # type: ignore[call-arg]
    )
    assert settings.db_prepared_statements_enabled is expected
