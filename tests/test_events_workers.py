"""Live events across processes: `tasks-api serve --workers 2` on PostgreSQL. A change made
through one worker reaches a stream held by the other within a second: by LISTEN/NOTIFY, and
with EVENTS_FANOUT=redis by the Redis relay (for deployments that cannot LISTEN).

Which worker answers a connection is the kernel's choice; each worker's /metrics reports the
streams it holds (`tasks_api_event_streams`), so a keep-alive connection whose worker holds
none is, for certain, a connection to the other worker.
"""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app import migrate
from tests.conftest import ThrowawayPostgres
from tests.live import METRICS_TOKEN, LiveServer, start_server
from tests.redis_support import redis_url
from tests.routers.test_events import EVENTS, sign_up
from tests.sse_support import EventStream

STREAMS = re.compile(r"^tasks_api_event_streams (\S+)$", re.MULTILINE)


@pytest.fixture(scope="module", params=["notify", "redis"])
def server(
    request: pytest.FixtureRequest,
    throwaway_postgres: ThrowawayPostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"events-workers-{request.param}")
    url = throwaway_postgres.create()
    migrate.upgrade(url)
    env = {
        "RATE_LIMIT_ENABLED": "false",
        "METRICS_TOKEN": METRICS_TOKEN,
        "EVENTS_FANOUT": request.param,
        # Longer than the test: only the fan-out under test can deliver in time.
        "EVENTS_RECHECK_SECONDS": "30",
    }
    if request.param == "redis":
        env["REDIS_URL"] = redis_url()
    with start_server(tmp, database_url=url, env=env, workers=2) as live:
        yield live


def _streams_here(client: httpx2.Client) -> int:
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200
    found = STREAMS.search(metrics.text)
    assert found is not None
    return int(float(found.group(1)))


def _connection_to(server: LiveServer, *, streams: int) -> httpx2.Client:
    """A keep-alive client whose worker holds `streams` streams."""
    for _ in range(100):
        client = httpx2.Client(base_url=server.base_url, timeout=10)
        if _streams_here(client) == streams:
            return client
        client.close()
    raise AssertionError(f"no connection reached a worker holding {streams} stream(s)")


def test_a_change_through_either_worker_reaches_the_stream(server: LiveServer) -> None:
    with httpx2.Client(base_url=server.base_url, timeout=10) as setup:
        headers = sign_up(setup)
    stream = EventStream(server.base_url, EVENTS, headers=headers)
    try:
        assert stream.status == 200
        other = _connection_to(server, streams=0)
        same = _connection_to(server, streams=1)
        try:
            for client, title in ((other, "through the other worker"), (same, "through its own")):
                for i in range(3):
                    started = time.monotonic()
                    body = {"title": f"{title} {i}"}
                    task = client.post("/api/v1/tasks", json=body, headers=headers).json()
                    event = stream.next(timeout=1.0)
                    assert time.monotonic() - started < 1.0
                    assert (event.event, json.loads(event.data)["id"]) == (
                        "task.created",
                        task["id"],
                    )
                    # The connection stayed on its worker.
                    assert _streams_here(client) == (0 if client is other else 1)
        finally:
            other.close()
            same.close()
    finally:
        stream.close()
