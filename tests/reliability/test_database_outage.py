"""PostgreSQL restarts under load: prompt 503s while it is down, recovery, no lost writes."""

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from tests.reliability.harness import ApiServer, PostgresCluster, running, sign_up

pytestmark = pytest.mark.faults

WORKERS = 4
MAX_REQUESTS_PER_WORKER = 400
OUTAGE_SECONDS = 3
RECOVERY_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 2


@dataclass
class Call:
    kind: str
    started: float
    elapsed: float
    status: int
    headers: dict[str, str]
    body: str
    title: str | None = None


@dataclass
class Load:
    calls: list[Call] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def _worker(
    server: ApiServer, headers: dict[str, str], task_id: str, index: int, load: Load
) -> None:
    with server.client(timeout=CONNECT_TIMEOUT_SECONDS + 8) as client:
        for n in range(MAX_REQUESTS_PER_WORKER):
            if load.stop.is_set():
                return
            title = f"w{index}-{n}"
            kind = ("create", "update", "read")[n % 3]
            started = time.monotonic()
            try:
                if kind == "create":
                    response = client.post("/api/v1/tasks", json={"title": title}, headers=headers)
                elif kind == "update":
                    response = client.patch(
                        f"/api/v1/tasks/{task_id}", json={"title": title}, headers=headers
                    )
                else:
                    response = client.get("/api/v1/tasks?limit=5", headers=headers)
            except httpx2.TransportError as exc:
                with load.lock:
                    load.transport_errors.append(repr(exc))
                continue
            call = Call(
                kind=kind,
                started=started,
                elapsed=time.monotonic() - started,
                status=response.status_code,
                headers=dict(response.headers),
                body=response.text,
                title=title if kind == "create" else None,
            )
            with load.lock:
                load.calls.append(call)
            time.sleep(0.02)


def _all_titles(client: httpx2.Client, headers: dict[str, str]) -> set[str]:
    titles: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/tasks", params=params, headers=headers)
        assert page.status_code == 200, page.text
        titles.update(item["title"] for item in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return titles


def test_database_restart_under_load(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    server = ApiServer(
        workdir,
        pg_database_url,
        db_connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        db_pool_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        db_pool_size=WORKERS,
    )
    with running(server), server.client() as client:
        headers = sign_up(client, "outage@example.com")
        task = client.post("/api/v1/tasks", json={"title": "shared"}, headers=headers).json()

        load = Load()
        threads = [
            threading.Thread(target=_worker, args=(server, headers, task["id"], index, load))
            for index in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)
            pg_cluster.stop("fast")
            down_at = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            restart_at = time.monotonic()
            pg_cluster.start()
            up_at = time.monotonic()
            time.sleep(RECOVERY_SECONDS + 2)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)

        calls = load.calls
        assert load.transport_errors == []
        statuses = {call.status for call in calls}
        assert statuses <= {200, 201, 503}, [
            c.body for c in calls if c.status not in (200, 201, 503)
        ]

        during = [
            c for c in calls if down_at + 0.5 < c.started and c.started + c.elapsed < restart_at
        ]
        assert during, "no request ran while the database was down"
        for call in during:
            assert call.status == 503, call.body
        for call in (c for c in calls if c.status == 503):
            assert call.headers["content-type"] == "application/problem+json"
            assert int(call.headers["retry-after"]) >= 1
            assert "Traceback" not in call.body
            assert call.elapsed < CONNECT_TIMEOUT_SECONDS + 1, call
        after = [c for c in calls if c.started > up_at + RECOVERY_SECONDS]
        assert after, "no request ran after the recovery window"
        assert all(c.status in (200, 201) for c in after), [c.body for c in after]

        # No acknowledged write is lost, and no failed create left a row behind.
        stored = _all_titles(client, headers)
        created = {c.title for c in calls if c.kind == "create" and c.status == 201}
        failed = {c.title for c in calls if c.kind == "create" and c.status != 201}
        assert created <= stored
        assert not (failed & stored)
        assert failed, "no create failed: the outage did not happen under load"
        recovered = min(
            c.started + c.elapsed for c in calls if c.started > up_at and c.status < 300
        )
        worst_503 = max(c.elapsed for c in calls if c.status == 503)
        print(f"recovered {recovered - up_at:.2f}s after restart; slowest 503 {worst_503:.3f}s")
