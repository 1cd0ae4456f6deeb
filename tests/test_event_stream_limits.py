"""Event streams under pressure, on a real server (SQLite and PostgreSQL): the process-wide
cap, a client that stops reading is dropped (the writer never waits for it), and SIGTERM
closes open streams promptly."""

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app import migrate
from tests.conftest import BACKENDS, ThrowawayPostgres
from tests.live import METRICS_TOKEN, LiveServer, start_server
from tests.routers.test_events import EVENTS, sign_up
from tests.sse_support import EventStream
from tests.test_events_workers import _streams_here

ENV = {
    "RATE_LIMIT_ENABLED": "false",
    "METRICS_TOKEN": METRICS_TOKEN,
    "EVENTS_MAX_STREAMS": "3",
    "EVENTS_MAX_STREAMS_PER_USER": "2",
    "EVENTS_SEND_TIMEOUT_SECONDS": "1",
    "SHUTDOWN_GRACE_SECONDS": "10",
}


@pytest.fixture(params=BACKENDS)
def database_url_for(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str | None:
    if request.param == "sqlite":
        return None
    pg: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
    url = pg.create()
    migrate.upgrade(url)
    return url


@pytest.fixture
def server(database_url_for: str | None, tmp_path: Path) -> Iterator[LiveServer]:
    with start_server(tmp_path / "server", database_url=database_url_for, env=ENV) as live:
        yield live


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_the_process_cap_is_a_503_and_a_slow_reader_is_dropped(server: LiveServer) -> None:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        alice, bob = sign_up(client), sign_up(client)
        streams = [EventStream(server.base_url, EVENTS, headers=h) for h in (alice, alice, bob)]
        try:
            assert [s.status for s in streams] == [200, 200, 200]
            refused = client.get(EVENTS, headers=bob)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "5"
            assert refused.json()["type"] == "/problems/streams-full"
        finally:
            for stream in streams:
                stream.close()
        assert _wait_for(lambda: _streams_here(client) == 0, 5)

        # A reader that never reads, with a tiny receive buffer: the server's sends block.
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        slow.connect(("127.0.0.1", server.port))
        token = alice["Authorization"]
        slow.sendall(
            f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n\r\n".encode()
        )
        try:
            assert _wait_for(lambda: _streams_here(client) == 1, 5)
            # More than the kernel buffers for the connection (up to 4 MB here): 6 MB.
            long = "x" * 10_000
            started = time.monotonic()
            for batch in range(12):
                operations = [
                    {"op": "create", "task": {"title": f"{batch}-{i}", "description": long}}
                    for i in range(50)
                ]
                done = client.post(
                    "/api/v1/tasks/batch", json={"operations": operations}, headers=alice
                )
                assert done.status_code == 200, done.text
            # The writes never waited for the stuck reader.
            assert time.monotonic() - started < 10
            assert _wait_for(lambda: _streams_here(client) == 0, 10)
        finally:
            slow.close()


def test_sigterm_closes_open_streams_promptly(server: LiveServer) -> None:
    with httpx2.Client(base_url=server.base_url, timeout=10) as client:
        headers = sign_up(client)
    stream = EventStream(server.base_url, EVENTS, headers=headers)
    try:
        assert stream.status == 200
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert stream.closed.wait(5), "the stream stayed open after SIGTERM"
        assert server.process.wait(10) == 0
        assert time.monotonic() - started < 5
    finally:
        stream.close()
