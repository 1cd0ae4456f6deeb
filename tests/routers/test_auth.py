import time

import jwt
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import PASSWORD, assert_problem, login, make_account, unique_email


def test_register_returns_user_without_hash(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "Ada@Example.COM", "password": PASSWORD, "name": " Ada "},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada"
    assert set(body) == {"id", "email", "name", "timezone", "created_at"}
    assert "hash" not in response.text
    assert PASSWORD not in response.text


def test_register_duplicate_email_any_case_is_409(client: TestClient) -> None:
    email = unique_email()
    make_account(client, email=email)
    response = client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert_problem(response, 409)


def test_register_password_length_limits(client: TestClient) -> None:
    for password in ("short12", "x" * 129):
        response = client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": password}
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "password"]
    for password in ("exactly8", "y" * 128):
        response = client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": password}
        )
        assert response.status_code == 201


def test_register_rejects_bad_email_and_unknown_fields(client: TestClient) -> None:
    bad = client.post("/api/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    assert_problem(bad, 422)
    extra = client.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "is_admin": True},
    )
    body = assert_problem(extra, 422)
    assert body["errors"][0]["loc"] == ["body", "is_admin"]


def test_token_returns_pair(client: TestClient, settings: Settings) -> None:
    account = make_account(client)
    tokens = login(client, email=account.email.upper(), password=account.password)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_expire_minutes * 60
    claims = jwt.decode(
        tokens["access_token"],
        settings.signing_key(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == account.id
    assert claims["type"] == "access"
    assert {"exp", "iat", "jti", "iss", "aud"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == settings.access_token_expire_minutes * 60


def test_token_wrong_password_and_unknown_email_look_the_same(client: TestClient) -> None:
    account = make_account(client)
    wrong = client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": "wrong password"}
    )
    unknown = client.post(
        "/api/v1/auth/token", data={"username": unique_email(), "password": "wrong password"}
    )
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.json() == unknown.json()


def test_token_unknown_email_still_verifies_a_hash(client: TestClient) -> None:
    # Both paths run one Argon2 verification, so timings are of the same order.
    account = make_account(client)

    def timed(email: str) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            client.post("/api/v1/auth/token", data={"username": email, "password": "nope nope"})
            best = min(best, time.perf_counter() - start)
        return best

    known, unknown = timed(account.email), timed(unique_email())
    assert unknown > known / 3
    assert known > unknown / 3


def test_token_requires_form_fields(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "a@example.com"})
    assert_problem(response, 422)


def test_token_form_is_what_the_contract_says(client: TestClient) -> None:
    account = make_account(client)
    fields = {"username": account.email, "password": account.password}
    # Optional fields are plain strings (a form has no null); unused ones are ignored.
    extras = {"grant_type": "password", "scope": "", "client_id": "x", "client_secret": "y"}
    assert client.post("/api/v1/auth/token", data={**fields, **extras}).status_code == 200
    # An empty field is an absent one (FastAPI's form parsing); the pattern allows it.
    assert client.post("/api/v1/auth/token", data={**fields, "grant_type": ""}).status_code == 200
    for wrong in (
        {"grant_type": "null"},
        {"grant_type": "client_credentials"},
        {"username": ""},
        {"username": "ada\x00@example.com"},  # a 500 from PostgreSQL before
        {"password": ""},
    ):
        response = client.post("/api/v1/auth/token", data={**fields, **wrong})
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", next(iter(wrong))], wrong


def test_register_email_rules_are_the_contracts(client: TestClient) -> None:
    # At most 254 characters (email-validator's limit, published as maxLength)...
    domain = "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com"
    longest = "l" * 64 + "@" + domain
    assert len(longest) == 254
    response = client.post("/api/v1/auth/register", json={"email": longest, "password": PASSWORD})
    assert response.status_code == 201, response.text
    # ...and never on a special-use domain (published as a `not` pattern).
    for email in ("x" + longest, "ada@example.test", "ada@mail.LOCAL", "ada@x.onion."):
        response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "email"], email


def test_refresh_rotates(client: TestClient) -> None:
    account = make_account(client)
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != account.refresh_token
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(again, 401)
    newer = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert newer.status_code == 200


def test_refresh_rejects_unknown_and_access_tokens(client: TestClient) -> None:
    account = make_account(client)
    for token in ("garbage", account.access_token):
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        body = assert_problem(response, 401)
        assert body["type"] == "/problems/invalid-refresh-token"


def test_refresh_token_expires(client: TestClient, session: object) -> None:
    from datetime import timedelta

    from sqlalchemy import update
    from sqlmodel import Session

    from app.core.security import hash_refresh_token
    from app.models import RefreshToken
    from app.models.base import utcnow

    assert isinstance(session, Session)
    account = make_account(client)
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(account.refresh_token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(response, 401)


def test_logout_revokes_refresh_token(client: TestClient) -> None:
    account = make_account(client)
    response = client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert response.status_code == 204
    assert response.content == b""
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(refreshed, 401)
    again = client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert again.status_code == 204
