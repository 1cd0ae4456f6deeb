"""Every error is an RFC 9457 problem; every response carries X-Request-ID."""

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import assert_problem, make_account


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert body["instance"] == "/api/v1/nothing-here"


def test_wrong_method_is_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/api/v1/tasks")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_400(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/tasks",
        content=b'{"title": "unterminated',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-json"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_body_is_415(client: TestClient, content_type: str | None) -> None:
    account = make_account(client)
    headers = dict(account.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/v1/tasks", content=b'{"title": "x"}', headers=headers)
    assert_problem(response, 415)


def test_json_with_charset_is_accepted(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/tasks",
        content=b'{"title": "x"}',
        headers={**account.headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_oversize_declared_body_is_413(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/tasks",
        content=b'{"title": "' + b"x" * (1024 * 1024) + b'"}',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert response.headers["x-request-id"]


def test_oversize_streamed_body_is_413(client: TestClient) -> None:
    account = make_account(client)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"title": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/tasks",
        content=chunks(),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_body_just_under_limit_is_fine(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/tasks",
        json={"title": "x", "description": "y" * 10_000},
        headers=account.headers,
    )
    assert response.status_code == 201


def test_request_id_generated_and_echoed(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) >= 16
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    too_long = client.get("/healthz", headers={"X-Request-ID": "a" * 500})
    assert too_long.headers["x-request-id"] != "a" * 500


def test_request_id_on_errors(client: TestClient) -> None:
    response = client.get("/api/v1/tasks", headers={"X-Request-ID": "trace-me"})
    assert_problem(response, 401)
    assert response.headers["x-request-id"] == "trace-me"


def test_unexpected_error_is_500_problem_with_request_id(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", explode)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "boom-1"
    assert response.headers["x-request-id"] == "boom-1"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert "secret internals" in caplog.text


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/tasks", "GET, HEAD, POST"),
        ("/api/v1/tasks/x", "DELETE, GET, HEAD, PATCH, PUT"),
        ("/api/v1/users/me", "DELETE, GET, HEAD, PATCH"),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    client: TestClient, path: str, allowed: str
) -> None:
    response = client.options(path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allowed
