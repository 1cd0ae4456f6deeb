"""Every protected route x every kind of caller: only the owner gets through.

The JWT attack suite lives here too: each forged, stale or malformed token is a 401 with the
same generic answer on every route that needs a user.
"""

import base64
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.security import create_access_token
from tests.factories import PASSWORD, Account, assert_problem, make_account, make_task

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
# Routes about the caller's own account: no other user's object is reachable through them.
ACCOUNT_ROUTES = [
    ("GET", "/api/v1/users/me", None, 200),
    ("PATCH", "/api/v1/users/me", {"name": "Changed"}, 200),
    ("DELETE", "/api/v1/users/me", None, 204),
    (
        "POST",
        "/api/v1/users/me/password",
        {"current_password": PASSWORD, "new_password": "another long passphrase"},
        200,
    ),
    ("POST", "/api/v1/auth/logout-all", None, 204),
]
# The Hackathon II routes (routers/compat.py); {uid} is the caller's own id.
COMPAT_ROUTES = [
    ("GET", "/api/{uid}/tasks", None, 200),
    ("POST", "/api/{uid}/tasks", {"title": "new"}, 201),
    ("GET", "/api/{uid}/tasks/{id}", None, 200),
    ("PUT", "/api/{uid}/tasks/{id}", {"title": "replaced"}, 200),
    ("DELETE", "/api/{uid}/tasks/{id}", None, 204),
    ("PATCH", "/api/{uid}/tasks/{id}/complete", None, 200),
]
PROTECTED_ROUTES = ROUTES + ACCOUNT_ROUTES + COMPAT_ROUTES
PROTECTED_IDS = [f"{method} {path}" for method, path, _, _ in PROTECTED_ROUTES]
# Routes that need a user but whose success case lives in their own tests ({id} here is a
# task id, so an authorised call would be a 404 tag; what matters is that no bad token passes).
OTHER_PROTECTED = [
    ("GET", "/api/v1/tasks/stats", None, 200),
    ("GET", "/api/v1/tags", None, 200),
    ("PATCH", "/api/v1/tags/{id}", {"name": "renamed"}, 404),
    ("DELETE", "/api/v1/tags/{id}", None, 404),
    ("GET", "/api/v1/lists", None, 200),
    ("POST", "/api/v1/lists", {"name": "Work"}, 201),
    ("GET", "/api/v1/lists/{id}", None, 404),
    ("PATCH", "/api/v1/lists/{id}", {"name": "renamed"}, 404),
    ("DELETE", "/api/v1/lists/{id}", None, 404),
    ("GET", "/api/v1/trash", None, 200),
    ("DELETE", "/api/v1/trash", None, 204),
    ("POST", "/api/v1/trash/{id}/restore", None, 404),
    ("DELETE", "/api/v1/trash/{id}", None, 404),
]
EVERY_PROTECTED = PROTECTED_ROUTES + OTHER_PROTECTED
EVERY_IDS = [f"{method} {path}" for method, path, _, _ in EVERY_PROTECTED]


def _call(
    client: TestClient,
    route: tuple[str, str, Any, int],
    task_id: str,
    headers: dict[str, str],
    user_id: str = "",
) -> Any:
    method, path, body, _ = route
    return client.request(method, path.format(id=task_id, uid=user_id), json=body, headers=headers)


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


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _claims(account: Account) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(account.access_token, options={"verify_signature": False})
    return claims


def _alg_none(account: Account, settings: Settings) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(account))}."


def _header_alg(alg: str) -> Callable[[Account, Settings], str]:
    # Our genuine HS256 signature under a header claiming an asymmetric algorithm: a
    # verifier that picked its algorithm from the header could be confused into accepting it.
    def make(account: Account, settings: Settings) -> str:
        _, payload, signature = account.access_token.split(".")
        return f"{_b64({'alg': alg, 'typ': 'JWT'})}.{payload}.{signature}"

    return make


def _missing_exp(account: Account, settings: Settings) -> str:
    claims = _claims(account)
    del claims["exp"]
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


def _beyond_leeway(account: Account, settings: Settings) -> str:
    claims = _claims(account)
    claims["exp"] = int(datetime.now(UTC).timestamp()) - settings.jwt_leeway_seconds - 5
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


def _not_yet_valid(account: Account, settings: Settings) -> str:
    claims = _claims(account)
    claims["nbf"] = int(datetime.now(UTC).timestamp()) + 3600
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


def _tampered_payload(account: Account, settings: Settings) -> str:
    header, _, signature = account.access_token.split(".")
    claims = _claims(account)
    claims["sub"] = str(uuid.uuid4())
    claims["exp"] += 3600
    return f"{header}.{_b64(claims)}.{signature}"


def _random_string(account: Account, settings: Settings) -> str:
    return secrets.token_urlsafe(48)


def _over_long(account: Account, settings: Settings) -> str:
    # Correctly signed and otherwise valid: only the length cap refuses it, before any crypto.
    claims = _claims(account)
    claims["pad"] = "x" * 8000
    return jwt.encode(claims, settings.signing_key(), algorithm="HS256")


BAD_TOKENS: dict[str, Callable[[Account, Settings], str]] = {
    "expired": _expired,
    "expired-beyond-leeway": _beyond_leeway,
    "bad-signature": _bad_signature,
    "alg-none": _alg_none,
    "rs256-header": _header_alg("RS256"),
    "es256-header": _header_alg("ES256"),
    "eddsa-header": _header_alg("EdDSA"),
    "missing-exp": _missing_exp,
    "nbf-in-future": _not_yet_valid,
    "tampered-payload": _tampered_payload,
    "refresh-token-as-access": _refresh_as_access,
    "random-string": _random_string,
    "wrong-audience": _wrong_audience,
    "wrong-issuer": _wrong_issuer,
    "malformed": _malformed,
    "over-long": _over_long,
}


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_owner_succeeds(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    response = _call(client, route, task["id"], owner.headers, owner.id)
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


@pytest.mark.parametrize("route", EVERY_PROTECTED, ids=EVERY_IDS)
def test_anonymous_is_401(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    response = _call(client, route, task["id"], {}, owner.id)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("route", EVERY_PROTECTED, ids=EVERY_IDS)
def test_bad_tokens_are_401(
    client: TestClient, settings: Settings, route: tuple[str, str, Any, int]
) -> None:
    # Every kind of bad token against one route and one account (one account per kind
    # would make this the slowest file in the suite for no extra coverage).
    owner = make_account(client)
    task = make_task(client, owner)
    for kind, make_token in BAD_TOKENS.items():
        token = make_token(owner, settings)
        response = _call(client, route, task["id"], {"Authorization": f"Bearer {token}"}, owner.id)
        assert response.status_code == 401, f"{kind}: {response.status_code} {response.text}"
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"', kind
        assert body["detail"] == "Missing, invalid or expired access token.", kind
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers).json() == task
    assert client.get("/api/v1/users/me", headers=owner.headers).status_code == 200


def test_over_long_token_is_refused_before_verification(settings: Settings) -> None:
    from app.core.security import InvalidTokenError, decode_access_token

    # A megabyte of junk is refused by the length check, not by parsing or HMAC.
    with pytest.raises(InvalidTokenError, match="too long"):
        decode_access_token("a" * (1024 * 1024), settings=settings)


@pytest.mark.parametrize("route", EVERY_PROTECTED, ids=EVERY_IDS)
def test_deleted_user_token_is_401(client: TestClient, route: tuple[str, str, Any, int]) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    assert client.delete("/api/v1/users/me", headers=owner.headers).status_code == 204
    response = _call(client, route, task["id"], owner.headers, owner.id)
    assert_problem(response, 401)


@pytest.mark.parametrize("route", EVERY_PROTECTED, ids=EVERY_IDS)
def test_protected_routes_succeed_for_the_owner(
    client: TestClient, route: tuple[str, str, Any, int]
) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    response = _call(client, route, task["id"], owner.headers, owner.id)
    assert response.status_code == route[3], response.text


@pytest.mark.parametrize("revocation", ["password-change", "logout-all"])
@pytest.mark.parametrize("route", EVERY_PROTECTED, ids=EVERY_IDS)
def test_token_issued_before_revocation_is_401(
    client: TestClient, route: tuple[str, str, Any, int], revocation: str
) -> None:
    owner = make_account(client)
    task = make_task(client, owner)
    if revocation == "password-change":
        changed = client.post(
            "/api/v1/users/me/password",
            json={"current_password": owner.password, "new_password": "fresh passphrase 2"},
            headers=owner.headers,
        )
        assert changed.status_code == 200, changed.text
    else:
        assert client.post("/api/v1/auth/logout-all", headers=owner.headers).status_code == 204
    response = _call(client, route, task["id"], owner.headers, owner.id)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
