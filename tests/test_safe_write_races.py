"""Safe writes under real concurrency: a `tasks-api serve` process on SQLite and on
PostgreSQL, many threads released at once (issue 17).

- 50 PATCHes carrying the same If-Match: exactly one is applied, every other one is a 412.
- 20 creates carrying the same Idempotency-Key: exactly one task; the others are 409 (the
  first still running) or the stored 201 replayed.
- 20 moves in one list at once: the manual order stays strict, every key distinct (issue 16).
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app import migrate
from tests.conftest import BACKENDS, ThrowawayPostgres
from tests.live import LiveServer, start_server

PATCHES = 50
CREATES = 20
MOVES = 20


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"races-{request.param}")
    url = None
    if request.param == "postgresql":
        pg: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
        url = pg.create()
        migrate.upgrade(url)
    env = {"RATE_LIMIT_ENABLED": "false", "DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "45"}
    with start_server(tmp, database_url=url, env=env) as live:
        yield live


def _sign_up(client: httpx2.Client, email: str) -> dict[str, str]:
    password = "correct horse battery"
    created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _all_at_once(count: int, call: Callable[[int], httpx2.Response]) -> list[httpx2.Response]:
    barrier = threading.Barrier(count)

    def run(index: int) -> httpx2.Response:
        barrier.wait(timeout=30)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _client(server: LiveServer) -> httpx2.Client:
    return httpx2.Client(
        base_url=server.base_url,
        timeout=60,
        limits=httpx2.Limits(max_connections=PATCHES),
    )


def test_concurrent_patches_with_one_if_match_apply_once(server: LiveServer) -> None:
    with _client(server) as client:
        headers = _sign_up(client, f"races-patch-{server.port}@example.com")
        task = client.post("/api/v1/tasks", json={"title": "start"}, headers=headers)
        url = f"/api/v1/tasks/{task.json()['id']}"
        conditional = {**headers, "If-Match": task.headers["etag"]}

        responses = _all_at_once(
            PATCHES,
            lambda i: client.patch(url, json={"title": f"writer {i}"}, headers=conditional),
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [412] * (PATCHES - 1), statuses
        winner = next(r for r in responses if r.status_code == 200).json()
        assert all(r.json()["version"] == 2 for r in responses if r.status_code == 412)
        final = client.get(url, headers=headers).json()
        assert (final["title"], final["version"]) == (winner["title"], 2)


def test_concurrent_creates_with_one_key_create_one_task(server: LiveServer) -> None:
    with _client(server) as client:
        headers = _sign_up(client, f"races-key-{server.port}@example.com")
        keyed = {**headers, "Idempotency-Key": "one-key-many-tries"}
        body: dict[str, Any] = {"title": "only once", "tags": ["x"]}

        responses = _all_at_once(
            CREATES, lambda _i: client.post("/api/v1/tasks", json=body, headers=keyed)
        )

        statuses = [response.status_code for response in responses]
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert len({r.json()["id"] for r in created}) == 1
        assert sum("idempotent-replayed" not in r.headers for r in created) == 1
        items = client.get("/api/v1/tasks", headers=headers).json()["items"]
        assert [item["title"] for item in items] == ["only once"]
        # Once the first has committed, a retry is always the replay.
        retry = client.post("/api/v1/tasks", json=body, headers=keyed)
        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"


def test_concurrent_moves_in_one_list_keep_a_strict_order(server: LiveServer) -> None:
    """20 moves at once into the same gap (right after the first task) and around it: each
    computes its key from neighbours another move may be changing. The final order is a
    strict total order (no two positions equal) holding every task once (issue 16)."""
    with _client(server) as client:
        headers = _sign_up(client, f"races-move-{server.port}@example.com")
        tasks = [
            client.post("/api/v1/tasks", json={"title": f"t{i}"}, headers=headers).json()
            for i in range(MOVES + 1)
        ]
        anchor = tasks[0]["id"]

        def move(index: int) -> httpx2.Response:
            task = tasks[index + 1]
            body = {"after": anchor} if index % 2 else {"before": anchor}
            return client.post(f"/api/v1/tasks/{task['id']}/move", json=body, headers=headers)

        responses = _all_at_once(MOVES, move)

        assert [r.status_code for r in responses] == [200] * MOVES, [r.text for r in responses]
        page = client.get(
            "/api/v1/tasks", params={"sort": "position", "limit": 100}, headers=headers
        ).json()["items"]
        positions = [task["position"] for task in page]
        assert len(page) == MOVES + 1
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions), positions
        # The moves before the anchor all landed before it, the others after it.
        titles = [task["title"] for task in page]
        before = {f"t{i + 1}" for i in range(MOVES) if i % 2 == 0}
        assert set(titles[: len(before)]) == before
        assert titles[len(before)] == "t0"
