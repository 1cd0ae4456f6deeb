"""Fixtures: every API test runs once on SQLite and once on PostgreSQL.

Each test session makes its own databases (an SQLite file in a temp folder and a throwaway
PostgreSQL database created from TEST_DATABASE_URL), migrates them with Alembic, and drops
them at the end. Each test runs inside a transaction that is rolled back, so tests never see
each other's rows and never touch a developer's data.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app import migrate
from app.core.config import Environment, Settings
from app.database import create_db_engine, normalize_database_url
from app.main import create_app
from tests.live import METRICS_TOKEN, PROJECT_ROOT, LiveServer, start_server

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def admin_url() -> str:
    return normalize_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))


def postgres_required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


def skip_or_fail_postgres(reason: str) -> None:
    if postgres_required():
        pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unusable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


class ThrowawayPostgres:
    """Creates uniquely named databases on the test server and drops them afterwards."""

    def __init__(self) -> None:
        self.admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"tasks_api_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    try:
        with pg.admin.connect():
            pass
    except OperationalError as exc:
        pg.admin.dispose()
        skip_or_fail_postgres(str(exc).splitlines()[0])
    yield pg
    pg.drop_all()


def fresh_database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, pg: "ThrowawayPostgres | None"
) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tasks.db'}"
    assert pg is not None
    return pg.create()


def make_settings(database_url: str, tmp_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.test,
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "secret_key_file": tmp_dir / "secret_key",
        # Cheap hashing keeps the suite fast; the algorithm and code path are the real ones.
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        # Off unless a test is about rate limits (tests/routers/test_rate_limits.py).
        "rate_limit_enabled": False,
        # No background reminder passes in apps that tests start (tests/jobs runs them).
        "reminder_scheduler_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="session")
def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    pg = request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    url = fresh_database_url(backend, tmp_path_factory, pg)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("settings"))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    # Service commits release a SAVEPOINT; the outer transaction is rolled back after the test.
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as db_session:
        yield db_session


def app_on_connection(settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    """The app with every request's session joined to the test's rolled-back transaction."""
    application = create_app(settings, engine)

    def test_session(read_only: bool) -> Session:
        return Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    application.state.session_factory = test_session
    return application


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    return app_on_connection(settings, engine, connection)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, engine: Engine, connection: Connection) -> ClientFactory:
    """A client for the app under changed settings, e.g. make_client(cors_origins=[...]);
    `peer` is the client address the app sees."""

    def factory(peer: tuple[str, int] = ("testclient", 50000), **overrides: object) -> TestClient:
        changed = Settings(_env_file=None, **{**settings.model_dump(), **overrides})  # type: ignore[call-arg, arg-type]
        return TestClient(
            app_on_connection(changed, engine, connection),
            raise_server_exceptions=False,
            client=peer,
        )

    return factory


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real `tasks-api serve` process on SQLite for the whole session (see tests/live.py).

    JSON logs go to `live_server.log_path`; /metrics needs `Bearer tests.live.METRICS_TOKEN`.
    Tests share its database, so they make their own accounts with unique emails.
    """
    with start_server(
        tmp_path_factory.mktemp("live"),
        env={"LOG_FORMAT": "json", "METRICS_TOKEN": METRICS_TOKEN},
    ) as server:
        yield server


# The server the docs' examples describe (tests/test_docs_examples.py): `make run`, plus the
# settings a page asks for (the SPA page starts it with CORS_ORIGINS). Rate limits stay on but
# higher: dozens of examples log in as the same few people, from one address, within a minute.
DOCS_SERVER_ENV = {
    "CORS_ORIGINS": "http://localhost:5173",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "1000/minute",
    "RATE_LIMIT_LOGIN_PER_ADDRESS": "1000/minute",
    "RATE_LIMIT_REGISTER_PER_ADDRESS": "1000/hour",
    # docs/guides/webhooks.md creates a webhook with a URL on this machine.
    "WEBHOOK_ALLOW_PRIVATE": "true",
}


@pytest.fixture(scope="session")
def docs_server_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The docs examples' server on SQLite, for the whole session."""
    with start_server(tmp_path_factory.mktemp("docs-sqlite"), env=DOCS_SERVER_ENV) as server:
        yield server


@pytest.fixture(scope="session")
def docs_server_postgresql(
    tmp_path_factory: pytest.TempPathFactory, throwaway_postgres: ThrowawayPostgres
) -> Iterator[LiveServer]:
    """The docs examples' server on a throwaway PostgreSQL database, for the whole session."""
    url = throwaway_postgres.create()
    migrate.upgrade(url)
    with start_server(
        tmp_path_factory.mktemp("docs-postgresql"), database_url=url, env=DOCS_SERVER_ENV
    ) as server:
        yield server


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once per session as `make docs` does (strict: a broken
    link, a missing page or an undocumented setting fails the build)."""
    site = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return site
