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
    """Every setting, documented by the docstring under it.

    Each docstring is the setting's entry in the configuration reference of the docs site
    (scripts/docs_hooks.py renders this class), so a new setting needs one.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", use_attribute_docstrings=True
    )

    environment: Environment = Environment.development
    """`production` refuses to start with a weak or missing `SECRET_KEY`, `DEBUG=true` or `*`
    in `CORS_ORIGINS`, naming the setting."""
    database_url: str = "sqlite:///./data/tasks.db"
    """An SQLite file, or a `postgresql://` (or `postgres://`) URL."""
    secret_key: SecretStr | None = None
    """The HS256 key for access tokens, at least 32 random bytes in production. Unset in
    development: one is generated once into `SECRET_KEY_FILE` so tokens survive restarts."""
    secret_key_file: Path = Path("data/secret_key")
    """Where the generated development key is kept when `SECRET_KEY` is unset."""
    auto_migrate: bool | None = None
    """Run migrations at start-up. Unset: on for SQLite, off for PostgreSQL (run
    `tasks-api migrate`)."""

    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """Access token lifetime."""
    refresh_token_expire_days: int = Field(default=30, ge=1, le=365)
    """Refresh token lifetime."""
    jwt_issuer: str = "tasks-api"
    """`iss` of the tokens this API mints and accepts."""
    jwt_audience: str = "tasks-api"
    """`aud` of the tokens this API mints and accepts."""
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    """Clock skew allowed when checking `exp` and `iat`, for this API's and provider tokens."""

    argon2_time_cost: int = Field(default=3, ge=1)
    """Argon2id passes for new password hashes (older hashes are upgraded at login)."""
    argon2_memory_cost: int = Field(default=65536, ge=8)
    """Argon2id memory in KiB."""
    argon2_parallelism: int = Field(default=4, ge=1)
    """Argon2id lanes."""

    debug: bool = False
    """FastAPI debug mode (tracebacks in responses); refused in production."""
    auth_jwks_url: str | None = None
    """An identity provider's JWKS (Better Auth: `https://app.example.com/api/auth/jwks`);
    its tokens are accepted beside this API's own. Must be https in production."""
    auth_issuer: str | None = None
    """`iss` of provider tokens; must differ from `JWT_ISSUER`."""
    auth_audience: str | None = None
    """`aud` of provider tokens."""
    auth_shared_secret: SecretStr | None = None
    """Opt-in: also accept HS256 provider tokens signed with this secret (32+ bytes)."""
    auth_jwks_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    """How long a key fetch from the provider may take."""
    auth_jwks_refetch_cooldown_seconds: float = Field(default=30.0, ge=0)
    """Least time between refetches triggered by tokens with an unknown key id."""
    auth_jwks_max_age_seconds: float = Field(default=600.0, ge=1)
    """Age after which the key set is refreshed in the background."""
    local_accounts_enabled: bool = True
    """`false` removes register, token, refresh and logout (a provider must be configured)."""
    compat_routes_enabled: bool = True
    """Serve the Hackathon II routes under `/api/{user_id}/tasks`."""
    compat_mismatch_status: int = 403
    """403 or 404: the answer for a `/api/{user_id}` path that is not the caller."""
    mcp_enabled: bool = True
    """Serve the Model Context Protocol endpoint `/mcp` for AI assistants, with its OAuth
    metadata at `/.well-known/oauth-protected-resource`."""

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated browser origins allowed to call the API, e.g.
    `http://localhost:5173`; `*` is refused in production."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body in bytes (larger: 413)."""
    max_json_depth: int = Field(default=32, ge=2, le=256)
    """Deepest JSON nesting accepted (deeper: 400, checked before parsing)."""

    rate_limit_enabled: bool = True
    """`false` switches every rate limit off (load tests, fuzzing)."""
    redis_url: str | None = None
    """Share rate-limit counters between workers and instances, e.g.
    `redis://127.0.0.1:6379/0`. Unset: in memory, per process."""
    rate_limit_key_prefix: str = Field(default="tasks-api", min_length=1, max_length=100)
    """Prefix of the counters' keys, to share one Redis between deployments."""
    rate_limit_login_per_account: str = "5/minute"
    """Login attempts per account (the `limits` notation: `5/minute`, `100 per hour`)."""
    rate_limit_login_per_address: str = "20/minute"
    """Login attempts per client address."""
    rate_limit_register_per_address: str = "10/hour"
    """Registrations per client address."""
    rate_limit_per_user: str = "600/minute"
    """Requests per signed-in user, on every authenticated route."""
    rate_limit_per_calendar_feed: str = "60/hour"
    """Requests per calendar feed URL (calendar apps poll every few minutes to hours)."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated proxy IPs or CIDRs whose `X-Forwarded-For` names the client. Empty:
    the peer address is the client and `X-Forwarded-For` is ignored."""
    require_if_match: bool = False
    """`true`: a write to a task (PATCH, PUT, DELETE, complete, reopen, and each batch
    operation but create) without `If-Match` is refused with 428 Precondition Required, so no
    client can overwrite a change it has not seen."""
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    """How long the response to a POST sent with an `Idempotency-Key` is kept for its retries;
    `tasks-api purge` deletes older ones."""
    refresh_reuse_grace_seconds: int = Field(default=5, ge=0, le=60)
    """A rotated refresh token replayed this soon after its rotation is treated as a client
    race (two tabs refreshing at once): refused, but its family survives."""

    log_format: Literal["json", "text"] | None = None
    """`json`: one object per line; `text`: readable lines. Unset: `json` in production,
    `text` otherwise."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Least severity logged (`tasks-api serve --log-level` overrides it)."""
    metrics_token: SecretStr | None = None
    """When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`."""

    # Twenty kept connections and no overflow: the same ceiling as 10 + 10, but an overflow
    # connection is closed when returned, and under steady load that meant reconnecting
    # (a new PostgreSQL backend process) over and over.
    db_pool_size: int = Field(default=20, ge=1)
    """PostgreSQL connections each process keeps open."""
    db_max_overflow: int = Field(default=0, ge=0)
    """Extra PostgreSQL connections beyond the pool, closed when returned."""
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    """Longest wait for a pooled connection before the 503."""
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    """Longest wait for a new database connection before the 503."""
    db_ping_after_idle_seconds: float = Field(default=5.0, ge=0)
    """Ping a pooled connection before use if it sat idle this long (`0`: always), so
    connections the database dropped are replaced unnoticed."""
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    """How long SQLite waits for another process's write lock."""
    db_statement_timeout_ms: int = Field(default=5000, ge=0)
    """PostgreSQL: cancel a statement running longer than this, answering 503 (`0`: the
    server's own). Set per transaction, so it works behind Neon's pooler."""
    db_prepared_statements: bool | None = None
    """PostgreSQL: run the single-row statements as prepared statements, so the server plans
    them once per connection. Unset: on, except behind Neon's pooler (a `-pooler` host), whose
    transaction-mode PgBouncer cannot keep them; set `false` behind any other such pooler."""
    database_listen_url: str | None = None
    """PostgreSQL: a direct (not pooled) URL for the one LISTEN connection per process that
    hears about account changes. Needed when `DATABASE_URL` is Neon's `-pooler` host (use the
    same URL without `-pooler`). Unset: `DATABASE_URL`."""
    auth_cache_size: int = Field(default=10_000, ge=0)
    """Verified access tokens, and the accounts they name, each process remembers (`0`:
    none)."""
    auth_cache_ttl_seconds: float = Field(default=60.0, gt=0)
    """How long a remembered account is trusted while change notifications reach the process
    (PostgreSQL). Without them (SQLite, or the listener disconnected): 1 second."""
    db_retry_after_seconds: int = Field(default=2, ge=1)
    """`Retry-After` sent with the 503 while the database is unavailable."""
    shutdown_grace_seconds: int = Field(default=20, ge=1)
    """On SIGTERM, how long in-flight requests may take before the process exits."""
    trash_retention_days: int = Field(default=30, ge=1, le=3650)
    """Tasks stay this many days in the trash, then `tasks-api purge` and the server's
    periodic purge delete them for good."""
    trash_purge_interval_seconds: int = Field(default=3600, ge=0)
    """How often each server process runs the purges: old trash and expired Idempotency-Key
    responses (one at a time across processes and instances). 0: never; run
    `tasks-api purge` from cron instead."""

    reminder_scheduler_enabled: bool = True
    """Fire due reminders from a thread of each server process. Set `false` where
    `tasks-api worker` runs the scheduler apart (several schedulers are safe, only wasteful)."""
    reminder_scheduler_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often the scheduler looks for due reminders: a reminder fires at most this late."""
    reminder_grace_minutes: int = Field(default=60, ge=0)
    """A reminder found more than this late (the scheduler was not running when it came due)
    is marked missed instead of fired."""

    webhook_allow_private: bool = False
    """Let webhooks reach loopback, private, link-local and cloud metadata addresses. Only
    for tests and on-premises receivers on the same network: anyone who can create a webhook
    can then make the server POST to internal services."""
    webhook_disable_after: int = Field(default=50, ge=1)
    """Consecutive failed delivery attempts after which a webhook is disabled (its owner sees
    the reason and can enable it again)."""
    webhook_worker_enabled: bool = True
    """Run the webhook delivery worker inside each server process. `false` when deliveries
    are sent by `tasks-api worker` processes of their own."""
    webhook_worker_threads: int = Field(default=2, ge=1, le=32)
    """Deliveries one worker process sends at the same time."""
    webhook_lease_seconds: float = Field(default=60.0, ge=1)
    """How long a claimed delivery belongs to the worker that claimed it. A worker that dies
    mid-delivery leaves it to another after this; keep it well above the 5 s attempt
    timeout."""
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often an idle worker looks for due deliveries."""

    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest file `POST /api/v1/import` accepts, in bytes (larger: 413). It replaces
    MAX_BODY_BYTES for that route only."""
    import_max_tasks: int = Field(default=10_000, ge=1)
    """Most tasks one import may create (more: 422, nothing is written)."""
    tombstone_retention_days: int = Field(default=30, ge=1, le=3650)
    """How long the change feed (`GET /api/v1/changes`) keeps its log, tombstones included.
    A `since` cursor older than this is answered 410 Gone: the client starts again with a
    snapshot. The purge removes log rows a day later than this."""
    events_max_streams_per_user: int = Field(default=5, ge=1, le=1000)
    """Open event streams (`GET /api/v1/events`) one user may hold in one server process;
    one more is a 429 problem."""
    events_max_streams: int = Field(default=2000, ge=1)
    """Open event streams one server process holds at most, all users together; one more is
    a 503 problem with `Retry-After`."""
    events_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    """How often an idle event stream sends a comment, so proxies keep it open."""
    events_recheck_seconds: float = Field(default=5.0, gt=0, le=60)
    """How often an open event stream checks that its caller's session is still valid (a
    logout-all, a password change or a revoked token made through another process closes
    the stream within this; through this one, or on PostgreSQL by its notification, at once).
    From memory when the process knows the account."""
    events_send_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """A client that has not taken an event after this long is disconnected rather than
    buffered for."""
    events_fanout: Literal["auto", "notify", "redis"] = "auto"
    """How a change wakes the event streams of other processes on PostgreSQL. `notify`: the
    database's NOTIFY, heard on each process's LISTEN connection. `redis`: one process at a
    time (a Redis lock) reads the change log and publishes the ids of the users concerned on
    Redis pub/sub (`REDIS_URL`), for deployments that cannot LISTEN (a transaction-mode pooler
    and no direct endpoint). `auto`: `notify`, or `redis` when the database is a Neon pooler
    without `DATABASE_LISTEN_URL` and `REDIS_URL` is set."""
    events_poll_seconds: float = Field(default=0.2, gt=0, le=10)
    """SQLite (which has no notifications), and the Redis relay: how often the poller looks
    for new changes to wake the streams of their users."""

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
        "rate_limit_per_calendar_feed",
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
    def webhook_allow_http(self) -> bool:
        """Plain `http://` webhook URLs are allowed outside production."""
        return self.environment is not Environment.production

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
