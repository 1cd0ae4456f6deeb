"""Plain factory functions for tests."""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def make_account(
    client: TestClient, *, email: str | None = None, password: str = PASSWORD
) -> Account:
    email = email or unique_email()
    created = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    tokens = login(client, email=email, password=password)
    return Account(
        id=created.json()["id"],
        email=email,
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


def login(client: TestClient, *, email: str, password: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def make_task(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    payload = {"title": "A task", **fields}
    response = client.post("/api/v1/tasks", json=payload, headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def make_personal_token(
    client: TestClient, account: Account, scopes: list[str], *, days: int = 30, name: str = "script"
) -> dict[str, Any]:
    """A personal access token of `account` (the creation response, `token` included)."""
    response = client.post(
        "/api/v1/tokens",
        json={"name": name, "scopes": scopes, "expires_in_days": days},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
