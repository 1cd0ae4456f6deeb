"""Settings: every knob the service has, read from the environment or `.env`."""

import ipaddress
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

MIN_SECRET_BYTES = 32
# A secret with fewer distinct characters than this is a placeholder, not a key.
MIN_SECRET_DISTINCT_CHARS = 10
# Values that appear in examples and docs; never acceptable as a real key.
KNOWN_WEAK_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "secret",
        "secret-key",
        "your-secret-key",
        "test-secret-key-that-is-long-enough-0123456789",
        "change-me-to-a-long-random-string-of-at-least-32-bytes",
    }
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    environment: Environment = Environment.development
    database_url: str = "sqlite:///./data/tasks.db"
    secret_key: SecretStr | None = None
    # Where a development secret is kept between restarts when SECRET_KEY is unset.
    secret_key_file: Path = Path("data/secret_key")
    auto_migrate: bool | None = Field(
        default=None,
        description="Run migrations at start-up. Unset: on for SQLite, off for PostgreSQL.",
    )

    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "tasks-api"
    jwt_audience: str = "tasks-api"
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8, description="KiB")
    argon2_parallelism: int = Field(default=4, ge=1)

    debug: bool = False
    # Tokens from an external provider (Better Auth or any JWKS publisher); see specs/1-auth.
    auth_jwks_url: str | None = Field(
        default=None, description="The provider's JWKS, e.g. https://app.example.com/api/auth/jwks"
    )
    auth_issuer: str | None = Field(default=None, description="`iss` of provider tokens.")
    auth_audience: str | None = Field(default=None, description="`aud` of provider tokens.")
    auth_shared_secret: SecretStr | None = Field(
        default=None, description="Opt-in: accept HS256 provider tokens signed with this secret."
    )
    auth_jwks_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    auth_jwks_refetch_cooldown_seconds: float = Field(default=30.0, ge=0)
    auth_jwks_max_age_seconds: float = Field(default=600.0, ge=1)
    local_accounts_enabled: bool = True
    compat_routes_enabled: bool = True
    compat_mismatch_status: int = Field(
        default=403, description="403 or 404 for a /api/{user_id} path that is not the caller."
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=2, le=256)

    # Rate limits (the `limits` library's notation: "5/minute", "100 per hour", "10/second").
    rate_limit_enabled: bool = True
    redis_url: str | None = Field(
        default=None, description="Shared rate-limit counters; unset keeps them in memory."
    )
    rate_limit_key_prefix: str = Field(default="tasks-api", min_length=1, max_length=100)
    rate_limit_login_per_account: str = "5/minute"
    rate_limit_login_per_address: str = "20/minute"
    rate_limit_register_per_address: str = "10/hour"
    rate_limit_per_user: str = "600/minute"
    # Peers whose X-Forwarded-For is believed (IPs or CIDRs); empty trusts no one.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A refresh token replayed this soon after its rotation is treated as a client race
    # (two tabs refreshing at once), not theft: it is refused but its family survives.
    refresh_reuse_grace_seconds: int = Field(default=5, ge=0, le=60)

    log_format: Literal["json", "text"] | None = Field(
        default=None, description="Unset: json in production, text otherwise."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # When set, GET /metrics requires `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None

    # Twenty kept connections and no overflow: the same ceiling as 10 + 10, but an overflow
    # connection is closed when returned, and under steady load that meant reconnecting
    # (a new PostgreSQL backend process) over and over.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_ping_after_idle_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Ping a pooled connection before use if it sat idle this long; 0: always.",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    db_statement_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="PostgreSQL: cancel a statement running longer than this (0: no limit).",
    )
    db_prepared_statements: bool | None = Field(
        default=None,
        description=(
            "PostgreSQL: prepare the hottest statements once per connection (PREPARE/EXECUTE), "
            "so the server plans them once. Unset: on, except behind Neon's pooler "
            "(`-pooler` host), where a transaction-mode PgBouncer cannot keep them. Set false "
            "behind any other transaction-mode pooler."
        ),
    )
    database_listen_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL: a direct (not pooled) URL for the LISTEN connection that hears about "
            "account changes. Needed when DATABASE_URL goes through a transaction-mode pooler "
            "(Neon's `-pooler` host). Unset: DATABASE_URL."
        ),
    )
    auth_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Verified tokens and accounts each process remembers (0: none).",
    )
    auth_cache_ttl_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How long a remembered account is trusted while change notifications arrive "
            "(PostgreSQL). Without them (SQLite, or the listener disconnected): 1 second."
        ),
    )
    db_retry_after_seconds: int = Field(
        default=2, ge=1, description="Retry-After sent with a 503 while the database is down."
    )
    shutdown_grace_seconds: int = Field(
        default=20,
        ge=1,
        description="On SIGTERM, how long in-flight requests may take before they are cut.",
    )

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP or CIDR") from exc
        return value

    @field_validator(
        "rate_limit_login_per_account",
        "rate_limit_login_per_address",
        "rate_limit_register_per_address",
        "rate_limit_per_user",
    )
    @classmethod
    def _check_limit(cls, value: str) -> str:
        try:
            items = parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit like '5/minute'") from exc
        if len(items) != 1:
            raise ValueError(f"{value!r}: give exactly one limit, like '5/minute'")
        return value

    @field_validator("compat_mismatch_status")
    @classmethod
    def _mismatch_status(cls, value: int) -> int:
        if value not in (403, 404):
            raise ValueError("must be 403 or 404")
        return value

    @model_validator(mode="after")
    def _check_provider(self) -> Self:
        if self.auth_jwks_url is None and self.auth_shared_secret is None:
            if not self.local_accounts_enabled:
                raise ValueError(
                    "LOCAL_ACCOUNTS_ENABLED=false needs a provider: set AUTH_JWKS_URL "
                    "or AUTH_SHARED_SECRET (with AUTH_ISSUER and AUTH_AUDIENCE)"
                )
            return self
        if not self.auth_issuer or not self.auth_audience:
            raise ValueError("provider tokens need AUTH_ISSUER and AUTH_AUDIENCE")
        if self.auth_issuer == self.jwt_issuer:
            # The issuer decides which verifier a token goes to; they must not be confusable.
            raise ValueError("AUTH_ISSUER must differ from JWT_ISSUER (this API's own tokens)")
        if self.auth_shared_secret is not None and (
            len(self.auth_shared_secret.get_secret_value().encode()) < MIN_SECRET_BYTES
        ):
            raise ValueError(f"AUTH_SHARED_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if self.auth_jwks_url is not None:
            parts = urlsplit(self.auth_jwks_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError("AUTH_JWKS_URL must be an http(s) URL")
            loopback = parts.hostname in {"localhost", "::1"} or parts.hostname.startswith("127.")
            if (
                self.environment is Environment.production
                and parts.scheme != "https"
                and not loopback
            ):
                # Whoever can change the key set in transit can mint tokens for anyone.
                raise ValueError("AUTH_JWKS_URL must use https when ENVIRONMENT=production")
        return self

    @property
    def provider_enabled(self) -> bool:
        return self.auth_jwks_url is not None or self.auth_shared_secret is not None

    @model_validator(mode="after")
    def _check_production(self) -> Self:
        if self.environment is not Environment.production:
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError(
                "refusing to start with ENVIRONMENT=production: " + "; ".join(problems)
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_log_format(self) -> str:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment is Environment.production else "text"

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def db_prepared_statements_enabled(self) -> bool:
        if self.db_prepared_statements is not None:
            return self.db_prepared_statements
        host = make_url(self.database_url).host or ""
        return "-pooler." not in host

    def signing_key(self) -> str:
        """The HS256 key; only call this where a token is signed or verified."""
        if self.secret_key is None:
            raise RuntimeError("secret key not resolved; call ensure_secret_key() first")
        return self.secret_key.get_secret_value()


def weak_secret_reason(secret: str) -> str | None:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"must be at least {MIN_SECRET_BYTES} bytes"
    if secret.strip().lower() in KNOWN_WEAK_SECRETS:
        return "is a published example value"
    if len(set(secret)) < MIN_SECRET_DISTINCT_CHARS:
        return "is not random (too few distinct characters)"
    return None


def production_problems(settings: Settings) -> list[str]:
    """Every setting that is unsafe in production, each named as its environment variable."""
    problems = []
    if settings.secret_key is None:
        problems.append("SECRET_KEY must be set")
    else:
        reason = weak_secret_reason(settings.secret_key.get_secret_value())
        if reason:
            problems.append(f"SECRET_KEY {reason}")
    if settings.debug:
        problems.append("DEBUG must be false")
    if "*" in settings.cors_origins:
        problems.append("CORS_ORIGINS must list origins, not '*'")
    return problems


def ensure_secret_key(settings: Settings) -> Settings:
    """Fill in a development secret, generated once and kept so tokens survive restarts."""
    if settings.secret_key is not None:
        return settings
    path = settings.secret_key_file
    if path.exists():
        key = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
    return settings.model_copy(update={"secret_key": SecretStr(key)})


@lru_cache
def get_settings() -> Settings:
    return ensure_secret_key(Settings())
