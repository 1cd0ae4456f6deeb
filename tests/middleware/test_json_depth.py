"""JSON nesting depth and the other hard input limits."""

import pytest
from fastapi.testclient import TestClient

from app.middleware.json_depth import json_depth_exceeds
from tests.factories import assert_problem, make_account


@pytest.mark.parametrize(
    ("body", "limit", "too_deep"),
    [
        (b'{"a": [1, 2, {"b": 3}]}', 3, False),
        (b'{"a": [1, 2, {"b": 3}]}', 2, True),
        (b"[" * 5 + b"]" * 5, 5, False),
        (b"[" * 6 + b"]" * 6, 5, True),
        (b"[]" * 1000, 1, False),  # many siblings, shallow
        (b'{"t": "' + b"[" * 1000 + b'"}', 2, False),  # brackets inside a string
        (b'{"t": "\\"' + b"[" * 50 + b'"}', 2, False),  # escaped quote inside the string
        (b'{"t": "x"' + b"[" * 50, 2, True),  # unbalanced junk still counts
    ],
)
def test_depth_scan(body: bytes, limit: int, too_deep: bool) -> None:
    assert json_depth_exceeds(body, limit) is too_deep


def test_deeply_nested_body_is_400_not_500(client: TestClient) -> None:
    account = make_account(client)
    for body in (b"[" * 100_000, b'{"title": ' + b"[" * 40 + b"]" * 40 + b"}"):
        response = client.post(
            "/api/v1/tasks",
            content=body,
            headers={**account.headers, "content-type": "application/json"},
        )
        problem = assert_problem(response, 400)
        assert problem["type"] == "/problems/json-too-deep"
        assert "32 levels" in problem["detail"]


def test_normal_bodies_pass_through(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/tasks",
        json={"title": "[[[not structure]]]", "description": "{" * 500},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "{" * 500


def test_string_lengths_are_bounded(client: TestClient) -> None:
    account = make_account(client)
    too_long = [
        ("/api/v1/tasks", {"title": "t" * 256}),
        ("/api/v1/tasks", {"title": "ok", "description": "d" * 10_001}),
    ]
    for path, body in too_long:
        assert_problem(client.post(path, json=body, headers=account.headers), 422)
    assert_problem(
        client.patch("/api/v1/users/me", json={"name": "n" * 101}, headers=account.headers), 422
    )
    login = client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": "p" * 129}
    )
    body = assert_problem(login, 422)
    assert body["errors"][0]["loc"] == ["body", "password"]
    long_user = client.post(
        "/api/v1/auth/token", data={"username": "u" * 321, "password": "whatever1"}
    )
    assert_problem(long_user, 422)


def test_page_size_is_bounded(client: TestClient) -> None:
    account = make_account(client)
    for limit in (0, 101, 10**9):
        response = client.get(f"/api/v1/tasks?limit={limit}", headers=account.headers)
        assert_problem(response, 422)
    assert client.get("/api/v1/tasks?limit=100", headers=account.headers).status_code == 200
