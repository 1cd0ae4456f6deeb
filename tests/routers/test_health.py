import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.config import Settings
from app.database import create_db_engine
from app.main import create_app
from tests.conftest import ThrowawayPostgres, fresh_database_url
from tests.factories import assert_problem


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_migrated(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_503_when_schema_behind(
    backend: str,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> None:
    pg: ThrowawayPostgres | None = (
        request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    )
    empty = settings.model_copy(
        update={"database_url": fresh_database_url(backend, tmp_path_factory, pg)}
    )
    engine: Engine = create_db_engine(empty)
    try:
        response = TestClient(create_app(empty, engine)).get("/readyz")
    finally:
        engine.dispose()
    body = assert_problem(response, 503)
    assert "tasks-api migrate" in body["detail"]


def test_readyz_503_when_database_unreachable(settings: Settings) -> None:
    down = settings.model_copy(
        update={
            "database_url": "postgresql://postgres@127.0.0.1:1/none",
            "db_connect_timeout_seconds": 1,
        }
    )
    engine = create_db_engine(down)
    try:
        # healthz never touches the database, so it stays green.
        client = TestClient(create_app(down, engine))
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    finally:
        engine.dispose()
    assert_problem(response, 503)
    assert response.headers["retry-after"]
