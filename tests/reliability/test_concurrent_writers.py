"""50 parallel writers on one task, through a real server, on SQLite and on PostgreSQL."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.reliability.harness import ApiServer, running, sign_up

pytestmark = pytest.mark.faults

PARALLEL = 50


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, workdir: Path) -> Iterator[ApiServer]:
    if request.param == "sqlite":
        # A file database, migrated by the server itself at start-up.
        url = f"sqlite:///{workdir / 'tasks.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    with running(ApiServer(workdir, url, db_pool_size=10, db_max_overflow=40)) as api:
        yield api


Call = tuple[str, str, dict[str, Any] | None]


def _fire(client: httpx2.Client, headers: dict[str, str], calls: list[Call]) -> list[int]:
    """Send every call at once (a barrier releases all threads together); the status codes."""
    barrier = threading.Barrier(len(calls))

    def run(call: Call) -> int:
        method, url, body = call
        barrier.wait(timeout=30)
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code < 500, response.text
        assert "locked" not in response.text
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _mixed_updates(task_url: str) -> list[Call]:
    calls: list[Call] = []
    for i in range(PARALLEL):
        calls.append(
            [
                ("PATCH", task_url, {"title": f"t{i}"}),
                ("POST", f"{task_url}/complete", None),
                ("POST", f"{task_url}/reopen", None),
                ("PATCH", task_url, {"completed": i % 2 == 0, "description": f"d{i}"}),
                ("PUT", task_url, {"title": f"t{i}", "completed": True}),
            ][i % 5]
        )
    return calls


def test_parallel_updates_on_one_task_stay_consistent(server: ApiServer) -> None:
    with server.client(limits=httpx2.Limits(max_connections=PARALLEL)) as client:
        headers = sign_up(client, "writers@example.com")
        task = client.post("/api/v1/tasks", json={"title": "t0"}, headers=headers).json()
        task_url = f"/api/v1/tasks/{task['id']}"

        statuses = _fire(client, headers, _mixed_updates(task_url))
        assert statuses == [200] * PARALLEL

        final = client.get(task_url, headers=headers).json()
        assert final["title"] in {f"t{i}" for i in range(PARALLEL)}
        assert final["description"] in {None} | {f"d{i}" for i in range(PARALLEL)}
        # completed and completed_at always change together.
        assert final["completed"] == (final["completed_at"] is not None)
        assert final["updated_at"] >= final["created_at"]


def test_parallel_deletes_and_updates_end_with_one_delete(server: ApiServer) -> None:
    with server.client(limits=httpx2.Limits(max_connections=PARALLEL)) as client:
        headers = sign_up(client, "deleters@example.com")
        task = client.post("/api/v1/tasks", json={"title": "doomed"}, headers=headers).json()
        task_url = f"/api/v1/tasks/{task['id']}"
        calls = _mixed_updates(task_url)
        for index in range(0, PARALLEL, 5):
            calls[index] = ("DELETE", task_url, None)

        statuses = _fire(client, headers, calls)
        deletes = statuses[0::5]
        others = [status for index, status in enumerate(statuses) if index % 5]
        # Exactly one delete wins; everything that lost the race sees a missing task.
        assert sorted(deletes) == [204] + [404] * (len(deletes) - 1)
        assert set(others) <= {200, 404}
        assert client.get(task_url, headers=headers).status_code == 404
        assert client.get("/api/v1/tasks", headers=headers).json()["items"] == []
