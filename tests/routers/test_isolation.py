"""Every task route x every kind of caller: only the owner gets through."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.security import create_access_token
from tests.factories import Account, assert_problem, make_account, make_task

# (method, path template, json body, success status)
ROUTES = [
    ("GET", "/api/v1/tasks", None, 200),
    ("POST", "/api/v1/tasks", {"title": "new"}, 201),
    ("GET", "/api/v1/tasks/{id}", None, 200),
    ("PATCH", "/api/v1/tasks/{id}", {"title": "changed"}, 200),
    ("PUT", "/api/v1/tasks/{id}", {"title": "replaced"}, 200),
    ("DELETE", "/api/v1/tasks/{id}", None, 204),
    ("POST", "/api/v1/tasks/{id}/complete", None, 200),
    ("POST", "/api/v1/tasks/{id}/reopen", None, 200),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _, _ in ROUTES]


def _call(
    client: TestClient, route: tuple[str, str, Any, int], task_id: str, headers: dict[str, str]
) -> Any:
    method, path, body, _ = route
    return client.request(method, path.format(id=task_id), json=body, headers=headers)


def _expired(account: Account, settings: Settings) -> str:
    past = datetime.now(UTC) - timedelta(minutes=settings.access_token_expire_minutes + 5)
    return create_access_token(
        user_id=uuid.UUID(account.id), token_version=0, settings=settings, now=past
    )


def _bad_signature(account: Account, settings: Settings) -> str:
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    return jwt.encode(claims, "some-other-key-entirely-0123456789abcdef", algorithm="HS256")


def _refresh_as_access(account: Account, settings: Settings) -> str:
    return account.refresh_token


def _wrong_audience(account: Account, settings: Settings) -> str:
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    claims["aud"] = "someone-else"
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


def _wrong_issuer(account: Account, settings: Settings) -> str:
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    claims["iss"] = "https://evil.example"
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


def _malformed(account: Account, settings: Settings) -> str:
    return "not.a.jwt"


BAD_TOKENS: dict[str, Callable[[Account, Settings], str]] = {
    "expired": _expired,
    "bad-signature": _bad_signature,
    "refresh-token-as-access": _refresh_as_access,
    "wrong-audience": _wrong_audience,
    "wrong-issuer": _wrong_issuer,
    "malformed": _malformed,
}


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_owner_succeeds(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    response = _call(client, route, task["id"], owner.headers)
    assert response.status_code == route[3], response.text


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_other_user_sees_404_and_changes_nothing(
    client: TestClient, route: tuple[str, str, Any, int]
) -> None:
    owner, intruder = make_account(client), make_account(client)
    task = make_task(client, owner, title="private")
    response = _call(client, route, task["id"], intruder.headers)
    if "{id}" in route[1]:
        assert_problem(response, 404)
    elif route[0] == "GET":
        assert response.json()["items"] == []
    after = client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)
    assert after.json() == task


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_401(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    response = _call(client, route, task["id"], {})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_bad_tokens_are_401(
    client: TestClient, settings: Settings, route: tuple[str, str, Any, int], kind: str
) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    token = BAD_TOKENS[kind](owner, settings)
    response = _call(client, route, task["id"], {"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert body["detail"] == "Missing, invalid or expired access token."
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json() == task


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_deleted_user_token_is_401(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    assert client.delete("/api/v1/users/me", headers=owner.headers).status_code == 204
    response = _call(client, route, task["id"], owner.headers)
    assert_problem(response, 401)
