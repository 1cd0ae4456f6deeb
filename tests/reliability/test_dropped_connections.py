"""Neon's scale-to-zero drops idle connections; the next request must not notice."""

import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text

from tests.reliability.harness import ApiServer, PostgresCluster, running, sign_up

pytestmark = pytest.mark.faults

PING_AFTER_IDLE_SECONDS = 0.5


def _terminate_app_connections(pg_cluster: PostgresCluster) -> int:
    admin = pg_cluster.admin_engine()
    try:
        with admin.connect() as conn:
            terminated: int = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'tasks-api'"
                )
            ).scalar_one()
            return terminated
    finally:
        admin.dispose()


def _warm(client: httpx2.Client, headers: dict[str, str]) -> None:
    # Several requests, so more than one pooled connection may be stale afterwards.
    for _ in range(5):
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200


def test_requests_after_idle_connections_were_dropped_succeed(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    server = ApiServer(
        workdir,
        pg_database_url,
        db_pool_size=4,
        db_ping_after_idle_seconds=PING_AFTER_IDLE_SECONDS,
    )
    with running(server), server.client() as client:
        headers = sign_up(client, "dropped@example.com")
        created = client.post("/api/v1/tasks", json={"title": "before"}, headers=headers)
        assert created.status_code == 201, created.text
        _warm(client, headers)

        assert _terminate_app_connections(pg_cluster) >= 1
        # What Neon does: the connections die while idle. Idle past the ping threshold, each
        # is pinged at checkout, found dead and replaced before the request uses it.
        time.sleep(PING_AFTER_IDLE_SECONDS * 2)

        for index in range(5):
            listed = client.get("/api/v1/tasks", headers=headers)
            assert listed.status_code == 200, listed.text
            assert [item["title"] for item in listed.json()["items"]][-1] == "before"
            made = client.post("/api/v1/tasks", json={"title": f"after {index}"}, headers=headers)
            assert made.status_code == 201, made.text


def test_connection_killed_while_in_use_costs_at_most_one_503(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    # Connections used moments ago are not pinged (a round trip saved per request), so one
    # killed in that window fails its next request once; the disconnect then invalidates the
    # whole pool, and every later request connects afresh.
    server = ApiServer(workdir, pg_database_url, db_pool_size=4, db_ping_after_idle_seconds=3600)
    with running(server), server.client() as client:
        headers = sign_up(client, "killed@example.com")
        _warm(client, headers)
        assert _terminate_app_connections(pg_cluster) >= 1

        statuses = [client.get("/api/v1/tasks", headers=headers) for _ in range(6)]
        first, rest = statuses[0], statuses[1:]
        if first.status_code != 200:
            assert first.status_code == 503, first.text
            assert int(first.headers["retry-after"]) >= 1
        assert [response.status_code for response in rest] == [200] * len(rest)
