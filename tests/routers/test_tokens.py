"""Personal access tokens: created once, listed without the secret, revoked at once; scopes,
expiry, the things a personal token may never do, and last_used_at at most once a minute."""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core.personal_tokens import PATTERN, hash_personal_token
from app.models import PersonalToken
from app.services import personal_tokens as token_service
from tests.factories import (
    Account,
    assert_problem,
    bearer,
    make_account,
    make_personal_token,
    make_task,
)

READ_ONLY = ["tasks:read", "tags:read"]


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def test_create_returns_the_token_once(client: TestClient) -> None:
    account = make_account(client)
    before = datetime.now(UTC)
    created = make_personal_token(client, account, ["tasks:read", "account:read"], days=90)
    token = created["token"]
    assert PATTERN.fullmatch(token), token
    assert created["scopes"] == ["account:read", "tasks:read"]
    assert created["last_four"] == token[-4:]
    assert created["last_used_at"] is None
    lifetime = _parse(created["expires_at"]) - _parse(created["created_at"])
    assert lifetime == timedelta(days=90)
    assert _parse(created["created_at"]) >= before.replace(microsecond=0)

    listed = client.get("/api/v1/tokens", headers=account.headers)
    assert listed.status_code == 200
    [item] = listed.json()
    assert item == {key: value for key, value in created.items() if key != "token"}
    assert token not in listed.text


def test_only_the_hash_is_stored(client: TestClient, session: Session) -> None:
    account = make_account(client)
    token = make_personal_token(client, account, READ_ONLY)["token"]
    row = session.exec(
        select(PersonalToken).where(col(PersonalToken.user_id) == uuid.UUID(account.id))
    ).one()
    assert row.token_hash == hash_personal_token(token)
    assert token not in {row.name, row.scopes, row.token_hash, row.last_four}


def test_two_tokens_differ_and_list_newest_first(client: TestClient) -> None:
    account = make_account(client)
    first = make_personal_token(client, account, READ_ONLY, name="first")
    second = make_personal_token(client, account, READ_ONLY, name="second")
    assert first["token"] != second["token"]
    names = [item["name"] for item in client.get("/api/v1/tokens", headers=account.headers).json()]
    assert names == ["second", "first"]


def test_someone_elses_tokens_are_not_listed_nor_revocable(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    token = make_personal_token(client, alice, READ_ONLY)
    assert client.get("/api/v1/tokens", headers=bob.headers).json() == []
    assert_problem(client.delete(f"/api/v1/tokens/{token['id']}", headers=bob.headers), 404)
    assert client.get("/api/v1/tasks", headers=bearer(token["token"])).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["tasks:read"]},  # expiry is required
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 0},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 366},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": "30"},
        {"name": "x", "scopes": [], "expires_in_days": 30},
        {"name": "x", "scopes": ["tasks:admin"], "expires_in_days": 30},
        {"name": "x", "scopes": ["tasks:read", "tasks:read"], "expires_in_days": 30},
        {"name": "  ", "scopes": ["tasks:read"], "expires_in_days": 30},
        {"scopes": ["tasks:read"], "expires_in_days": 30},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 30, "admin": True},
    ],
)
def test_create_validates_the_body(client: TestClient, body: dict[str, Any]) -> None:
    account = make_account(client)
    assert_problem(client.post("/api/v1/tokens", json=body, headers=account.headers), 422)


def test_a_whole_number_written_with_a_point_is_a_number_of_days(client: TestClient) -> None:
    # JSON Schema counts 30.0 as an integer, so the contract allows it.
    account = make_account(client)
    body = {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 30.0}
    created = client.post("/api/v1/tokens", json=body, headers=account.headers)
    assert created.status_code == 201, created.text
    body["expires_in_days"] = 30.5
    assert_problem(client.post("/api/v1/tokens", json=body, headers=account.headers), 422)
    body["expires_in_days"] = True
    assert_problem(client.post("/api/v1/tokens", json=body, headers=account.headers), 422)


def test_the_longest_lifetime_is_a_year(client: TestClient) -> None:
    account = make_account(client)
    created = make_personal_token(client, account, READ_ONLY, days=365)
    lifetime = _parse(created["expires_at"]) - _parse(created["created_at"])
    assert lifetime == timedelta(days=365)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/4ef33fc9-b009-4b2f-b449-dcc19a510e82"),
    ],
)
def test_anonymous_is_401(client: TestClient, method: str, path: str) -> None:
    assert_problem(client.request(method, path, json={}), 401)


def test_a_token_authenticates_within_its_scopes(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, title="read me", tags=["home"])
    headers = bearer(make_personal_token(client, account, READ_ONLY)["token"])
    listed = client.get("/api/v1/tasks", headers=headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [task["id"]]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=headers).json() == task
    assert [tag["name"] for tag in client.get("/api/v1/tags", headers=headers).json()] == ["home"]

    refused = client.post("/api/v1/tasks", json={"title": "no"}, headers=headers)
    body = assert_problem(refused, 403)
    assert body["type"] == "/problems/insufficient-scope"
    assert refused.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="tasks:write"'
    )
    refused = client.get("/api/v1/users/me", headers=headers)
    assert_problem(refused, 403)
    assert 'scope="account:read"' in refused.headers["www-authenticate"]
    # Nothing was written by the refused request.
    assert len(client.get("/api/v1/tasks", headers=account.headers).json()["items"]) == 1


def test_write_does_not_imply_read(client: TestClient) -> None:
    account = make_account(client)
    headers = bearer(make_personal_token(client, account, ["tasks:write"])["token"])
    created = client.post("/api/v1/tasks", json={"title": "from cron"}, headers=headers)
    assert created.status_code == 201
    assert_problem(client.get("/api/v1/tasks", headers=headers), 403)


def test_login_tokens_keep_every_scope(client: TestClient) -> None:
    account = make_account(client)
    assert client.get("/api/v1/users/me", headers=account.headers).status_code == 200
    assert (
        client.post("/api/v1/tasks", json={"title": "t"}, headers=account.headers).status_code
        == 201
    )


ALL_SCOPES = [
    "tasks:read",
    "tasks:write",
    "lists:read",
    "lists:write",
    "tags:read",
    "tags:write",
    "account:read",
    "webhooks:manage",
    "calendar:manage",
    "export:read",
    "import:write",
]


def _login_only_requests(account: Account, token_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/api/v1/tokens", {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 1}),
        ("DELETE", f"/api/v1/tokens/{token_id}", {}),
        (
            "POST",
            "/api/v1/users/me/password",
            {"current_password": account.password, "new_password": "a new password 1"},
        ),
        ("POST", "/api/v1/auth/logout-all", {}),
        ("PATCH", "/api/v1/users/me", {"name": "Mallory"}),
        ("DELETE", "/api/v1/users/me", {}),
    ]


def test_a_token_can_never_manage_tokens_password_sessions_or_the_account(
    client: TestClient,
) -> None:
    account = make_account(client)
    created = make_personal_token(client, account, ALL_SCOPES)
    headers = bearer(created["token"])
    for method, path, body in _login_only_requests(account, created["id"]):
        response = client.request(method, path, json=body or None, headers=headers)
        problem = assert_problem(response, 403)
        assert problem["type"] == "/problems/personal-token-refused", (method, path)
        assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    # None of it happened: the token, the password, the sessions and the account are intact.
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert client.get("/api/v1/users/me", headers=account.headers).json()["name"] is None
    assert len(client.get("/api/v1/tokens", headers=account.headers).json()) == 1


def test_revocation_takes_effect_at_once(client: TestClient) -> None:
    account = make_account(client)
    created = make_personal_token(client, account, READ_ONLY)
    headers = bearer(created["token"])
    for _ in range(2):  # the second request is served from this process's memory
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert (
        client.delete(f"/api/v1/tokens/{created['id']}", headers=account.headers).status_code == 204
    )
    refused = client.get("/api/v1/tasks", headers=headers)
    assert_problem(refused, 401)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert client.get("/api/v1/tokens", headers=account.headers).json() == []
    # Revoked is gone: a second revocation is a 404 like a missing or malformed id.
    assert_problem(client.delete(f"/api/v1/tokens/{created['id']}", headers=account.headers), 404)
    assert_problem(client.delete("/api/v1/tokens/not-a-uuid", headers=account.headers), 404)


def test_other_tokens_survive_a_revocation(client: TestClient) -> None:
    account = make_account(client)
    kept, revoked = (make_personal_token(client, account, READ_ONLY) for _ in range(2))
    assert (
        client.delete(f"/api/v1/tokens/{revoked['id']}", headers=account.headers).status_code == 204
    )
    assert client.get("/api/v1/tasks", headers=bearer(kept["token"])).status_code == 200
    assert client.get("/api/v1/tasks", headers=account.headers).status_code == 200


def test_an_expired_token_is_refused(client: TestClient, session: Session) -> None:
    account = make_account(client)
    created = make_personal_token(client, account, READ_ONLY)
    session.execute(
        update(PersonalToken)
        .where(col(PersonalToken.id) == uuid.UUID(created["id"]))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    assert_problem(client.get("/api/v1/tasks", headers=bearer(created["token"])), 401)
    # Still listed, so its owner sees that it stopped working.
    [listed] = client.get("/api/v1/tokens", headers=account.headers).json()
    assert _parse(listed["expires_at"]) < datetime.now(UTC)


@pytest.mark.parametrize(
    "token",
    ["tap_", "tap_" + "A" * 43, "tap_" + "x" * 2000, "tap_\u00e9t\u00e9"],
)
def test_unknown_tokens_are_401(client: TestClient, token: str) -> None:
    # As raw bytes: a header may carry any octet, UTF-8 included.
    response = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}".encode()})
    assert_problem(response, 401)


def test_a_deleted_account_takes_its_tokens(client: TestClient) -> None:
    account = make_account(client)
    headers = bearer(make_personal_token(client, account, READ_ONLY)["token"])
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert client.delete("/api/v1/users/me", headers=account.headers).status_code == 204
    assert_problem(client.get("/api/v1/tasks", headers=headers), 401)


def _relogin(client: TestClient, account: Account, password: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": password}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def test_logout_all_keeps_tokens_unless_asked(client: TestClient) -> None:
    account = make_account(client)
    headers = bearer(make_personal_token(client, account, READ_ONLY)["token"])
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    # Without a body, as before personal tokens existed: sessions end, tokens stay.
    assert client.post("/api/v1/auth/logout-all", headers=account.headers).status_code == 204
    assert_problem(client.get("/api/v1/tasks", headers=account.headers), 401)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    session_headers = _relogin(client, account, account.password)
    kept = client.post(
        "/api/v1/auth/logout-all", json={"revoke_tokens": False}, headers=session_headers
    )
    assert kept.status_code == 204
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200

    session_headers = _relogin(client, account, account.password)
    revoked = client.post(
        "/api/v1/auth/logout-all", json={"revoke_tokens": True}, headers=session_headers
    )
    assert revoked.status_code == 204
    assert_problem(client.get("/api/v1/tasks", headers=headers), 401)
    session_headers = _relogin(client, account, account.password)
    assert client.get("/api/v1/tokens", headers=session_headers).json() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [({"revoke_tokens": 1}, 422), ({"everything": True}, 422)],
)
def test_logout_all_body_is_strict(client: TestClient, body: dict[str, Any], status: int) -> None:
    account = make_account(client)
    assert_problem(
        client.post("/api/v1/auth/logout-all", json=body, headers=account.headers), status
    )
    assert client.get("/api/v1/tasks", headers=account.headers).status_code == 200


def test_logout_all_refuses_a_form_body(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        "/api/v1/auth/logout-all",
        content="revoke_tokens=true",
        headers={**account.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


@pytest.mark.parametrize("revoke", [False, True])
def test_a_password_change_revokes_tokens_only_if_asked(client: TestClient, revoke: bool) -> None:
    account = make_account(client)
    headers = bearer(make_personal_token(client, account, READ_ONLY)["token"])
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    changed = client.post(
        "/api/v1/users/me/password",
        json={
            "current_password": account.password,
            "new_password": "another password 2",
            "revoke_tokens": revoke,
        },
        headers=account.headers,
    )
    assert changed.status_code == 200, changed.text
    status = client.get("/api/v1/tasks", headers=headers).status_code
    assert status == (401 if revoke else 200)


def test_last_used_is_written_at_most_once_a_minute(client: TestClient, session: Session) -> None:
    account = make_account(client)
    created = make_personal_token(client, account, READ_ONLY)
    headers = bearer(created["token"])

    def last_used() -> str | None:
        [item] = client.get("/api/v1/tokens", headers=account.headers).json()
        value: str | None = item["last_used_at"]
        return value

    assert last_used() is None
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    for _ in range(3):
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert last_used() == first  # no write per request

    # A minute later (moved back in the database rather than waited for), another process
    # with no memory of the token writes it again once.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    session.execute(
        update(PersonalToken)
        .where(col(PersonalToken.id) == uuid.UUID(created["id"]))
        .values(last_used_at=an_hour_ago)
    )
    session.commit()
    token_service.record_use(
        session=session,
        user_id=uuid.UUID(account.id),
        token_id=uuid.UUID(created["id"]),
        now=datetime.now(UTC),
    )
    moved = last_used()
    assert moved is not None
    assert _parse(moved) > an_hour_ago + timedelta(minutes=59)
    # ... but not within the minute.
    token_service.record_use(
        session=session,
        user_id=uuid.UUID(account.id),
        token_id=uuid.UUID(created["id"]),
        now=datetime.now(UTC) + timedelta(seconds=30),
    )
    assert last_used() == moved


def test_tokens_work_on_the_hackathon_routes(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account)
    headers = bearer(make_personal_token(client, account, ["tasks:read"])["token"])
    listed = client.get(f"/api/{account.id}/tasks", headers=headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [task["id"]]
    refused = client.post(f"/api/{account.id}/tasks", json={"title": "no"}, headers=headers)
    assert_problem(refused, 403)
    assert 'scope="tasks:write"' in refused.headers["www-authenticate"]
    writer = bearer(make_personal_token(client, account, ["tasks:write"])["token"])
    assert (
        client.post(f"/api/{account.id}/tasks", json={"title": "ok"}, headers=writer).status_code
        == 201
    )


def test_tokens_count_in_the_per_user_rate_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_enabled=True, rate_limit_per_user="4/minute")
    account = make_account(client)
    created = make_personal_token(client, account, READ_ONLY)  # 1
    headers = bearer(created["token"])
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200  # 2
    assert client.get("/api/v1/tasks", headers=account.headers).status_code == 200  # 3
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200  # 4
    # The token and the login share the user's budget.
    assert_problem(client.get("/api/v1/tasks", headers=headers), 429)
    assert_problem(client.get("/api/v1/tasks", headers=account.headers), 429)


def test_at_most_a_hundred_unrevoked_tokens(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_service, "MAX_TOKENS_PER_USER", 2)
    account = make_account(client)
    first = make_personal_token(client, account, READ_ONLY)
    make_personal_token(client, account, READ_ONLY)
    body = {"name": "third", "scopes": READ_ONLY, "expires_in_days": 1}
    refused = client.post("/api/v1/tokens", json=body, headers=account.headers)
    assert assert_problem(refused, 409)["type"] == "/problems/too-many-personal-tokens"
    assert (
        client.delete(f"/api/v1/tokens/{first['id']}", headers=account.headers).status_code == 204
    )
    assert client.post("/api/v1/tokens", json=body, headers=account.headers).status_code == 201


def test_the_token_format_is_what_scanners_match(client: TestClient) -> None:
    account = make_account(client)
    token = make_personal_token(client, account, READ_ONLY)["token"]
    assert re.fullmatch(r"tap_[A-Za-z0-9_-]{43}", token)
