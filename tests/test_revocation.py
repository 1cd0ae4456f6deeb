"""Revocation across processes: a password change, logout-all or account deletion made
through one process makes the old access token fail in every other within the documented
bound (core.callers.STALENESS_BOUND_SECONDS), although each process remembers accounts.

On PostgreSQL the change arrives as a notification (a trigger on `users`), in milliseconds;
on SQLite, which cannot notify, the remembered account simply expires after the bound.
"""

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app import migrate
from app.core.callers import STALENESS_BOUND_SECONDS
from tests.conftest import ThrowawayPostgres
from tests.factories import PASSWORD, unique_email
from tests.test_two_servers import Server, request

# Slack for a loaded machine: the request that sees the change must travel too.
SLACK_SECONDS = 0.5


def _database_url(backend: str, tmp_path: Path, request_: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'tasks.db'}"
    pg: ThrowawayPostgres = request_.getfixturevalue("throwaway_postgres")
    return pg.create()


def _env(database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RATE_LIMIT", "REDIS", "DATABASE", "SECRET", "AUTH", "CORS"))
    }
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "AUTO_MIGRATE": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "ARGON2_PARALLELISM": "1",
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    return env


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def two_instances(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Server, Server]]:
    database_url = _database_url(backend, tmp_path, request)
    migrate.upgrade(database_url)
    env = _env(database_url)
    a, b = Server(env, tmp_path, "a"), Server(env, tmp_path, "b")
    try:
        a.wait_ready()
        b.wait_ready()
        _wait_for_listeners(backend, [a, b])
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def two_workers(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    database_url = _database_url(backend, tmp_path, request)
    migrate.upgrade(database_url)
    server = Server(_env(database_url), tmp_path, "workers", workers=2)
    try:
        server.wait_ready()
        _wait_for_listeners(backend, [server], expected=2)
        yield server
    finally:
        server.stop()


def _wait_for_listeners(backend: str, servers: list[Server], expected: int = 1) -> None:
    if backend != "postgresql":
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        logs = [server.log_path.read_text() for server in servers]
        if all(log.count("listening for notifications") >= expected for log in logs):
            return
        time.sleep(0.05)
    raise AssertionError("the notification listeners did not start")


def _account(port: int) -> tuple[str, str]:
    email = unique_email()
    status, _, _ = request(
        port, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD}
    )
    assert status == 201
    status, _, pair = request(
        port, "POST", "/api/v1/auth/token", form={"username": email, "password": PASSWORD}
    )
    assert status == 200
    return email, pair["access_token"]


def _change_password(port: int, token: str) -> None:
    body = {"current_password": PASSWORD, "new_password": "another password 2"}
    assert request(port, "POST", "/api/v1/users/me/password", body, token=token)[0] == 200


def _logout_all(port: int, token: str) -> None:
    assert request(port, "POST", "/api/v1/auth/logout-all", token=token)[0] == 204


def _delete_account(port: int, token: str) -> None:
    assert request(port, "DELETE", "/api/v1/users/me", token=token)[0] == 204


CHANGES: dict[str, Callable[[int, str], None]] = {
    "password": _change_password,
    "logout-all": _logout_all,
    "deletion": _delete_account,
}


def _seconds_until_refused(port: int, token: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 10:
        status = request(port, "GET", "/api/v1/tasks", token=token)[0]
        if status == 401:
            return time.monotonic() - started
        assert status == 200
        time.sleep(0.01)
    raise AssertionError("the old token kept working")


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_revocation_in_one_instance_reaches_the_other_within_the_bound(
    two_instances: tuple[Server, Server], backend: str, change: str
) -> None:
    a, b = two_instances
    _, token = _account(a.port)
    for server in (a, b):  # both now remember the token and its account
        assert request(server.port, "GET", "/api/v1/tasks", token=token)[0] == 200
    CHANGES[change](a.port, token)
    assert request(a.port, "GET", "/api/v1/tasks", token=token)[0] == 401  # at once here
    elapsed = _seconds_until_refused(b.port, token)
    assert elapsed <= STALENESS_BOUND_SECONDS + SLACK_SECONDS
    if backend == "postgresql":
        # Heard through NOTIFY, not waited out.
        assert elapsed < STALENESS_BOUND_SECONDS / 2


def test_a_revocation_reaches_both_workers_of_one_server(two_workers: Server, backend: str) -> None:
    _, token = _account(two_workers.port)
    # New connections are spread over both workers: warm them both.
    for _ in range(20):
        assert request(two_workers.port, "GET", "/api/v1/tasks", token=token)[0] == 200
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            status = request(two_workers.port, "GET", "/api/v1/tasks", token=token)[0]
            seen.append((time.monotonic(), status))

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for thread in pollers:
        thread.start()
    time.sleep(0.2)
    changed_at = time.monotonic()
    _logout_all(two_workers.port, token)
    time.sleep(STALENESS_BOUND_SECONDS + SLACK_SECONDS + 1)
    stop.set()
    for thread in pollers:
        thread.join()
    assert {status for _, status in seen} <= {200, 401}
    last_success = max((at for at, status in seen if status == 200), default=changed_at)
    assert last_success - changed_at <= STALENESS_BOUND_SECONDS + SLACK_SECONDS
    late = [
        status for at, status in seen if at > changed_at + STALENESS_BOUND_SECONDS + SLACK_SECONDS
    ]
    assert len(late) >= 10
    assert set(late) == {401}


def _personal_token(port: int, access_token: str) -> tuple[str, str]:
    body = {"name": "cron", "scopes": ["tasks:read"], "expires_in_days": 1}
    status, _, created = request(port, "POST", "/api/v1/tokens", body, token=access_token)
    assert status == 201
    return created["id"], created["token"]


def _revoke_token(port: int, access_token: str, token_id: str) -> None:
    assert request(port, "DELETE", f"/api/v1/tokens/{token_id}", token=access_token)[0] == 204


def _logout_all_with_tokens(port: int, access_token: str, _token_id: str) -> None:
    body = {"revoke_tokens": True}
    assert request(port, "POST", "/api/v1/auth/logout-all", body, token=access_token)[0] == 204


TOKEN_REVOCATIONS: dict[str, Callable[[int, str, str], None]] = {
    "delete": _revoke_token,
    "logout-all": _logout_all_with_tokens,
}


@pytest.mark.parametrize("revocation", list(TOKEN_REVOCATIONS))
def test_a_revoked_personal_token_is_refused_by_the_other_instance_within_the_bound(
    two_instances: tuple[Server, Server], backend: str, revocation: str
) -> None:
    a, b = two_instances
    _, access_token = _account(a.port)
    token_id, personal_token = _personal_token(a.port, access_token)
    for server in (a, b):  # both now remember the personal token
        for _ in range(2):
            assert request(server.port, "GET", "/api/v1/tasks", token=personal_token)[0] == 200
    TOKEN_REVOCATIONS[revocation](a.port, access_token, token_id)
    assert request(a.port, "GET", "/api/v1/tasks", token=personal_token)[0] == 401  # at once
    elapsed = _seconds_until_refused(b.port, personal_token)
    assert elapsed <= STALENESS_BOUND_SECONDS + SLACK_SECONDS
    if backend == "postgresql":
        assert elapsed < STALENESS_BOUND_SECONDS / 2
