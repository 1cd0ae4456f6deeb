"""CORS for a single-page app on another origin: preflight, exposed headers, refusals."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.factories import make_account

SPA = "http://127.0.0.2:5173"


@pytest.fixture
def spa_client(make_client: ClientFactory) -> TestClient:
    return make_client(cors_origins=[SPA])


def test_preflight_allows_bearer_and_json(spa_client: TestClient) -> None:
    response = spa_client.options(
        "/api/v1/tasks",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert int(response.headers["access-control-max-age"]) > 0
    # Bearer tokens, not cookies: the API never asks browsers to send credentials.
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_preflight_for_compat_methods(spa_client: TestClient, method: str) -> None:
    response = spa_client.options(
        "/api/some-user/tasks/some-task/complete",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert method in response.headers["access-control-allow-methods"]


def test_responses_expose_headers_to_the_page(spa_client: TestClient) -> None:
    account = make_account(spa_client)
    response = spa_client.post(
        "/api/v1/tasks", json={"title": "t"}, headers={**account.headers, "Origin": SPA}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == SPA
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {
        "location",
        "x-request-id",
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "www-authenticate",
    } <= exposed


def test_other_origins_get_no_cors_grant(spa_client: TestClient) -> None:
    preflight = spa_client.options(
        "/api/v1/tasks",
        headers={
            "Origin": "http://127.0.0.3:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    simple = spa_client.get("/healthz", headers={"Origin": "http://127.0.0.3:5173"})
    assert "access-control-allow-origin" not in simple.headers


def test_no_cors_without_configured_origins(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Origin": SPA})
    assert "access-control-allow-origin" not in response.headers
