"""Neon's scale-to-zero drops idle connections; the next request must not notice."""

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.reliability.harness import ApiServer, PostgresCluster, running, sign_up

pytestmark = pytest.mark.faults


def test_request_after_backends_terminated_succeeds(
    pg_cluster: PostgresCluster, pg_database_url: str, workdir: Path
) -> None:
    server = ApiServer(workdir, pg_database_url, db_pool_size=4)
    admin = pg_cluster.admin_engine()
    with running(server), server.client() as client:
        headers = sign_up(client, "dropped@example.com")
        created = client.post("/api/v1/tasks", json={"title": "before"}, headers=headers)
        assert created.status_code == 201, created.text
        # Warm several pooled connections, so more than one stale one sits in the pool.
        for _ in range(5):
            assert client.get("/api/v1/tasks", headers=headers).status_code == 200

        with admin.connect() as conn:
            terminated = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'tasks-api'"
                )
            ).scalar_one()
        assert terminated >= 1

        # Every request after the drop succeeds, reads and writes alike.
        for index in range(5):
            listed = client.get("/api/v1/tasks", headers=headers)
            assert listed.status_code == 200, listed.text
            assert [item["title"] for item in listed.json()["items"]][-1] == "before"
            made = client.post("/api/v1/tasks", json={"title": f"after {index}"}, headers=headers)
            assert made.status_code == 201, made.text
    admin.dispose()
