"""Two real server processes sharing Redis: the login limit holds across both, and nothing
secret reaches either server's logs (uvicorn's access log included)."""

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from app import migrate
from tests.conftest import ThrowawayPostgres
from tests.factories import PASSWORD, unique_email
from tests.redis_support import RedisTarget, redis_target

ACCOUNT_LIMIT = 5
BURST = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(
    port: int, method: str, path: str, body: Any = None, form: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    headers = {}
    payload: bytes | None = None
    if form is not None:
        payload = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        data = json.loads(raw) if raw else None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


class Server:
    def __init__(self, env: dict[str, str], workdir: Path, name: str, workers: int = 1) -> None:
        self.port = _free_port()
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        command = ["serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *command],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()}")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.log_path.read_text()


@pytest.fixture
def redis() -> Iterator[RedisTarget]:
    yield from redis_target()


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(
    request: pytest.FixtureRequest, redis: RedisTarget, tmp_path: Path
) -> Iterator[list[Server]]:
    # Two processes on one SQLite file (one host) or one PostgreSQL database.
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'tasks.db'}"
    else:
        pg: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
        database_url = pg.create()
    migrate.upgrade(database_url)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RATE_LIMIT", "REDIS", "DATABASE", "SECRET", "TRUSTED", "CORS"))
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
            "RATE_LIMIT_ENABLED": "true",
            "REDIS_URL": redis.url,
            "RATE_LIMIT_KEY_PREFIX": redis.prefix,
            "RATE_LIMIT_LOGIN_PER_ACCOUNT": f"{ACCOUNT_LIMIT}/minute",
            "RATE_LIMIT_LOGIN_PER_ADDRESS": "1000/minute",
            "RATE_LIMIT_REGISTER_PER_ADDRESS": "1000/minute",
        }
    )
    started = [Server(env, tmp_path, "a"), Server(env, tmp_path, "b")]
    try:
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def test_login_burst_across_two_processes_lets_exactly_the_quota_through(
    servers: list[Server],
) -> None:
    a, b = servers
    email = unique_email()
    assert (
        request(a.port, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})[0]
        == 201
    )

    barrier = threading.Barrier(BURST)
    results: list[tuple[int, dict[str, str]]] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        port = (a, b)[index % 2].port
        barrier.wait()
        status, headers, _ = request(
            port, "POST", "/api/v1/auth/token", form={"username": email, "password": PASSWORD}
        )
        with lock:
            results.append((status, headers))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = Counter(status for status, _ in results)
    assert statuses == {200: ACCOUNT_LIMIT, 429: BURST - ACCOUNT_LIMIT}
    for status, headers in results:
        assert "ratelimit" in headers
        assert "ratelimit-policy" in headers
        if status == 429:
            assert 1 <= int(headers["retry-after"]) <= 60


def test_secrets_never_reach_the_server_logs(servers: list[Server]) -> None:
    a, b = servers
    email, password, new_password = unique_email(), "logged? never 1", "logged? never 2"
    status, _, _ = request(
        a.port, "POST", "/api/v1/auth/register", {"email": email, "password": password}
    )
    assert status == 201
    status, _, pair = request(
        b.port, "POST", "/api/v1/auth/token", form={"username": email, "password": password}
    )
    assert status == 200
    secrets_seen = [password, new_password, pair["access_token"], pair["refresh_token"]]
    status, _, pair2 = request(
        a.port, "POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}
    )
    assert status == 200
    secrets_seen += [pair2["access_token"], pair2["refresh_token"]]
    # A replay: logged as a security event, which must not include the token.
    assert (
        request(b.port, "POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})[0]
        == 401
    )
    assert request(a.port, "GET", "/api/v1/users/me", token=pair2["access_token"])[0] == 200
    assert request(b.port, "GET", "/api/v1/tasks", token="forged.token.value")[0] == 401
    status, _, pair3 = request(
        b.port,
        "POST",
        "/api/v1/users/me/password",
        {"current_password": password, "new_password": new_password},
        token=pair2["access_token"],
    )
    assert status == 200
    secrets_seen += [pair3["access_token"], pair3["refresh_token"], "forged.token.value"]
    # Wrong password at login, too.
    request(a.port, "POST", "/api/v1/auth/token", form={"username": email, "password": password})

    logs = "".join(server.stop() for server in servers)
    # The app's access line (app.access: method, path, status), so the log was captured.
    assert "POST /api/v1/auth/token 401" in logs, "the access log was captured"
    for secret in secrets_seen:
        assert secret not in logs
    assert "bearer" not in logs.lower()
    assert "authorization" not in logs.lower()


def test_concurrent_refresh_with_one_token_keeps_the_session(servers: list[Server]) -> None:
    # Two tabs refresh with the same token at the same moment, on different processes:
    # exactly one wins, the loser is refused, and the winner's new pair keeps working
    # (the grace window stops the loser from revoking the family).
    a, b = servers
    email = unique_email()
    request(a.port, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    _, _, pair = request(
        a.port, "POST", "/api/v1/auth/token", form={"username": email, "password": PASSWORD}
    )
    barrier = threading.Barrier(2)
    results: list[tuple[int, Any]] = []

    def refresh(port: int) -> None:
        barrier.wait()
        status, _, body = request(
            port, "POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}
        )
        results.append((status, body))

    threads = [threading.Thread(target=refresh, args=(s.port,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [200, 401]
    winner = next(body for status, body in results if status == 200)
    again = request(
        b.port, "POST", "/api/v1/auth/refresh", {"refresh_token": winner["refresh_token"]}
    )
    assert again[0] == 200
    assert request(a.port, "GET", "/api/v1/users/me", token=winner["access_token"])[0] == 200
