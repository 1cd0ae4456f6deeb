"""The change feed under real concurrency: 20 writers and a reader pulling the feed all the
while, on a `tasks-api serve` process on SQLite and on PostgreSQL (issue 18).

Once the writers have stopped, the reader's replica (snapshot, then every page since) must
equal the server's state exactly. On PostgreSQL the writers' transactions commit in an order
other than the one they started in; a cursor that skipped a change committed late would
leave the replica with a stale or missing object for good.
"""

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app import migrate
from tests.conftest import BACKENDS, ThrowawayPostgres
from tests.feed_support import FEED, Replica, server_state
from tests.live import LiveServer, start_server

WRITERS = 20
ROUNDS = 25


@dataclass
class Caller:
    headers: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"feed-races-{request.param}")
    url = None
    if request.param == "postgresql":
        pg: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
        url = pg.create()
        migrate.upgrade(url)
    env = {"RATE_LIMIT_ENABLED": "false", "DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "30"}
    with start_server(tmp, database_url=url, env=env) as live:
        yield live


def _sign_up(client: httpx2.Client, email: str) -> Caller:
    password = "correct horse battery"
    created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return Caller({"Authorization": f"Bearer {token.json()['access_token']}"})


def _write(client: httpx2.Client, caller: Caller, writer: int, barrier: threading.Barrier) -> int:
    """A mix of every kind of write; the number that succeeded."""
    rng = random.Random(writer)
    headers = caller.headers
    done = 0
    mine: list[str] = []
    barrier.wait(timeout=30)
    for round_ in range(ROUNDS):
        action = rng.choice(["create", "create", "patch", "complete", "delete", "restore", "list"])
        if action == "create" or not mine:
            body = {"title": f"w{writer} r{round_}", "tags": [f"t{rng.randrange(4)}"]}
            response = client.post("/api/v1/tasks", json=body, headers=headers)
            if response.status_code == 201:
                mine.append(response.json()["id"])
        elif action == "patch":
            task = rng.choice(mine)
            body = {"title": f"w{writer} r{round_} edited", "tags": [f"t{rng.randrange(4)}"]}
            response = client.patch(f"/api/v1/tasks/{task}", json=body, headers=headers)
        elif action == "complete":
            response = client.post(f"/api/v1/tasks/{rng.choice(mine)}/complete", headers=headers)
        elif action == "delete":
            response = client.delete(f"/api/v1/tasks/{rng.choice(mine)}", headers=headers)
        elif action == "restore":
            response = client.post(f"/api/v1/trash/{rng.choice(mine)}/restore", headers=headers)
        else:
            body = {"name": f"list w{writer} r{round_}"}
            response = client.post("/api/v1/lists", json=body, headers=headers)
        # 404: a restore of a task not in the trash, a write to one that is.
        assert response.status_code in (200, 201, 204, 404), response.text
        done += response.status_code != 404
    return done


def test_concurrent_writers_and_a_reader_end_with_the_same_state(server: LiveServer) -> None:
    limits = httpx2.Limits(max_connections=WRITERS + 2)
    with httpx2.Client(base_url=server.base_url, timeout=60, limits=limits) as client:
        caller = _sign_up(client, f"feed-races-{server.port}@example.com")
        for i in range(3):
            client.post("/api/v1/tasks", json={"title": f"before {i}"}, headers=caller.headers)
        replica = Replica()
        writing = threading.Event()
        writing.set()
        pages_read = 0

        def read() -> None:
            nonlocal pages_read
            while writing.is_set():
                params: dict[str, Any] = {"limit": 7}
                if replica.cursor is not None:
                    params["since"] = replica.cursor
                response = client.get(FEED, params=params, headers=caller.headers)
                assert response.status_code == 200, response.text
                replica.apply(response.json())
                pages_read += 1

        barrier = threading.Barrier(WRITERS)
        with ThreadPoolExecutor(max_workers=WRITERS + 1) as pool:
            reader = pool.submit(read)
            writers = [
                pool.submit(_write, client, caller, writer, barrier) for writer in range(WRITERS)
            ]
            written = sum(future.result() for future in writers)
            writing.clear()
            reader.result()
        assert written > WRITERS * ROUNDS // 2
        assert pages_read > 10  # the reader read while the writers wrote

        expected = server_state(client, caller)
        # Until has_more is false; on PostgreSQL a transaction elsewhere on the server (this
        # machine runs other databases' tests too) may hold changes back a moment longer.
        deadline = time.monotonic() + 30
        while True:
            replica.sync(client, caller)
            if replica.objects == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert replica.objects == expected
        assert sum(kind == "task" for kind, _ in expected) > WRITERS
