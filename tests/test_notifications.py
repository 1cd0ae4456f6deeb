"""The LISTEN/NOTIFY listener on a real PostgreSQL: it hears notifications committed by any
connection, reports a lost connection, reconnects, and stops promptly."""

import queue
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from app import notifications
from app.database import normalize_database_url
from app.notifications import Listener, behind_neon_pooler, listen_dsn
from tests.conftest import ThrowawayPostgres, admin_url

CHANNEL = "tasks_api_test_channel"


@pytest.fixture
def database_url(throwaway_postgres: ThrowawayPostgres) -> str:
    return throwaway_postgres.create()


def _notify(url: str, payload: str) -> None:
    engine = create_engine(normalize_database_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
    finally:
        engine.dispose()


def _terminate_listener(url: str) -> None:
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    database = url.rsplit("/", 1)[-1]
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'tasks-api-listener' AND datname = :d"
                ),
                {"d": database},
            )
    finally:
        engine.dispose()


@pytest.fixture
def listener(database_url: str) -> Iterator[tuple[Listener, "queue.Queue[str]"]]:
    heard: queue.Queue[str] = queue.Queue()
    listener = Listener(
        listen_dsn(database_url),
        {CHANNEL: lambda payload: heard.put(f"payload:{payload}")},
        on_connected=lambda up: heard.put(f"connected:{up}"),
        retry_seconds=0.1,
    )
    listener.start()
    try:
        assert heard.get(timeout=10) == "connected:True"
        yield listener, heard
    finally:
        started = time.monotonic()
        listener.stop()
        assert time.monotonic() - started < 2  # woken at once, not at its next timeout


def test_a_committed_notification_is_heard(
    listener: tuple[Listener, "queue.Queue[str]"], database_url: str
) -> None:
    _, heard = listener
    _notify(database_url, "hello")
    assert heard.get(timeout=5) == "payload:hello"


def test_a_lost_connection_is_reported_and_the_listener_comes_back(
    listener: tuple[Listener, "queue.Queue[str]"], database_url: str
) -> None:
    _, heard = listener
    _terminate_listener(database_url)
    assert heard.get(timeout=10) == "connected:False"
    assert heard.get(timeout=10) == "connected:True"
    _notify(database_url, "after")
    assert heard.get(timeout=5) == "payload:after"


def test_a_failing_handler_does_not_stop_the_listener(database_url: str) -> None:
    heard: queue.Queue[str] = queue.Queue()

    def handler(payload: str) -> None:
        if payload == "bad":
            raise ValueError(payload)
        heard.put(payload)

    listener = Listener(listen_dsn(database_url), {CHANNEL: handler}, on_connected=lambda _: None)
    listener.start()
    try:
        assert listener.connected.wait(10)
        _notify(database_url, "bad")
        _notify(database_url, "good")
        assert heard.get(timeout=5) == "good"
    finally:
        listener.stop()


def test_neon_pooler_hosts_are_recognised() -> None:
    pooled = "postgresql://u:p@ep-cool-name-123-pooler.eu-central-1.aws.neon.tech/db"
    direct = "postgresql://u:p@ep-cool-name-123.eu-central-1.aws.neon.tech/db"
    assert behind_neon_pooler(pooled)
    assert not behind_neon_pooler(direct)
    assert notifications.ACCOUNTS_CHANNEL == "tasks_api_accounts"
