"""Scope enforcement over every operation of the OpenAPI document.

Each operation either needs no token at all, or declares in its security requirement the one
scope a personal access token must carry (`require_scope`), or declares an empty list: for
logins only (`login_required`). The walk below calls every operation:

- without a token, an operation that declares nothing must not answer 401 (a route that
  authenticates but forgot its scope fails here, and refuses personal tokens meanwhile);
- with a personal token holding every scope but the declared one: 403 insufficient_scope,
  naming the scope in WWW-Authenticate (RFC 6750);
- with a personal token holding only the declared scope: neither 401 nor 403;
- for logins only: 403 with a personal token holding every scope.
"""

import re
import typing
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.scopes import SCOPES
from app.dependencies import CurrentUser, require_scope
from app.schemas.personal_token import Scope
from tests.factories import Account, bearer, make_account, make_personal_token, make_task

METHODS = {"get", "post", "put", "patch", "delete"}
PARAMETER = re.compile(r"\{([^}]+)\}")


def _scopes(operation: dict[str, Any]) -> list[str] | None:
    """The declared scopes, or None when the operation needs no token."""
    security = operation.get("security")
    if not security:
        return None
    return sorted({scope for requirement in security for s in requirement.values() for scope in s})


def _streams(operation: dict[str, Any]) -> bool:
    """Whether the operation answers an event stream (text/event-stream)."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    return "text/event-stream" in content


def _url(path: str, account: Account, task_id: str) -> str:
    values = {"user_id": account.id, "task_id": task_id}
    return PARAMETER.sub(lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


def _token(client: TestClient, account: Account, scopes: list[str]) -> dict[str, str]:
    return bearer(make_personal_token(client, account, scopes)["token"])


def walk(client: TestClient) -> list[str]:
    """Every operation's failures to declare or enforce its scope (empty when all is well)."""
    spec = client.app.openapi()  # type: ignore[attr-defined]
    account = make_account(client)
    task_id = make_task(client, account)["id"]
    # One token per set of scopes, however many operations share it (an account may hold
    # MAX_TOKENS_PER_USER tokens, fewer than two per operation).
    tokens: dict[tuple[str, ...], dict[str, str]] = {}

    def token(scopes: list[str]) -> dict[str, str]:
        if tuple(scopes) not in tokens:
            tokens[tuple(scopes)] = _token(client, account, scopes)
        return tokens[tuple(scopes)]

    every = token(sorted(SCOPES))
    failures: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            name = f"{method.upper()} {path}"
            url = _url(path, account, task_id)
            body = {} if method in {"post", "put", "patch"} else None
            if _streams(operation):
                # A cursor that is not one: past its checks of token and scope, the request
                # is a 400 rather than a stream that never ends.
                client.headers["Last-Event-ID"] = "not-a-cursor"
            else:
                client.headers.pop("Last-Event-ID", None)
            scopes = _scopes(operation)
            if scopes is None:
                if client.request(method, url, json=body).status_code == 401:
                    failures.append(f"{name} needs a token but declares no scope")
                continue
            if not scopes:
                response = client.request(method, url, json=body, headers=every)
                if response.status_code != 403:
                    failures.append(f"{name} is for logins only, yet a token got {response}")
                continue
            if len(scopes) != 1:
                failures.append(f"{name} declares several scopes: {scopes}")
                continue
            [scope] = scopes
            lacking = token(sorted(set(SCOPES) - {scope}))
            response = client.request(method, url, json=body, headers=lacking)
            challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
            if response.status_code != 403 or response.headers.get("www-authenticate") != challenge:
                failures.append(f"{name} let a token without {scope} through: {response}")
            holding = token([scope])
            response = client.request(method, url, json=body, headers=holding)
            if response.status_code in {401, 403}:
                failures.append(f"{name} refused a token with {scope}: {response.text}")
    client.headers.pop("Last-Event-ID", None)
    return failures


def test_every_operation_declares_and_enforces_its_scope(client: TestClient) -> None:
    assert walk(client) == []


def test_the_walk_catches_a_route_that_forgets_its_scope(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.get("/api/v1/forgotten", tags=["tasks"])
    def forgotten(current_user: CurrentUser) -> dict[str, str]:
        """A route added without require_scope."""
        return {"id": str(current_user.id)}

    @app.get("/api/v1/declared", tags=["tasks"], dependencies=[require_scope("lists:read")])
    def declared(current_user: CurrentUser) -> dict[str, str]:
        """A route added with require_scope."""
        return {"id": str(current_user.id)}

    failures = walk(client)
    assert failures == ["GET /api/v1/forgotten needs a token but declares no scope"]
    # Meanwhile it fails closed: no personal token gets through, whatever its scopes.
    account = make_account(client)
    response = client.get("/api/v1/forgotten", headers=_token(client, account, sorted(SCOPES)))
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/personal-token-refused"
    assert client.get("/api/v1/forgotten", headers=account.headers).status_code == 200


def test_the_scopes_are_the_documented_ones(client: TestClient) -> None:
    assert set(typing.get_args(Scope)) == set(SCOPES)
    spec = client.app.openapi()  # type: ignore[attr-defined]
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["scopes"] == SCOPES
    declared = {
        scope
        for _, ops in spec["paths"].items()
        for op in ops.values()
        for scope in _scopes(op) or []
    }
    assert declared <= set(SCOPES)


def test_each_operation_states_its_scope_for_both_schemes(client: TestClient) -> None:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            if not security:
                continue
            by_scheme = {
                name: scopes for requirement in security for name, scopes in requirement.items()
            }
            assert by_scheme["BearerAuth"] == by_scheme["OAuth2PasswordBearer"], (method, path)
            assert "403" in operation["responses"], (method, path)
            if by_scheme["BearerAuth"]:
                assert f"Scope: `{by_scheme['BearerAuth'][0]}`." in operation["description"]


def test_an_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="tasks:admin"):
        require_scope("tasks:admin")
