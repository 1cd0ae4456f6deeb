"""Provider tokens through the API, on both databases: provider users, 401s, local accounts."""

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlmodel import Session, col

from app.core.security import create_access_token
from app.models import User
from app.services import users as user_service
from tests.conftest import ClientFactory
from tests.factories import assert_problem, make_account, make_task
from tests.provider import (
    AUDIENCE,
    ISSUER,
    SHARED_SECRET,
    JwksServer,
    SigningKey,
    claims,
    sign,
    sign_shared,
)

ALGORITHMS = ["EdDSA", "ES256", "RS256"]


@pytest.fixture(scope="module")
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        for alg in ALGORITHMS:
            server.add_key(alg)
        yield server


def key_for(provider: JwksServer, alg: str) -> SigningKey:
    return next(key for key in provider.keys if key.alg == alg)


def provider_settings(provider: JwksServer, **overrides: object) -> dict[str, object]:
    return {
        "auth_jwks_url": provider.url,
        "auth_issuer": ISSUER,
        "auth_audience": AUDIENCE,
        "auth_shared_secret": SHARED_SECRET,
        **overrides,
    }


@pytest.fixture
def pclient(make_client: ClientFactory, provider: JwksServer) -> TestClient:
    return make_client(**provider_settings(provider))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_provider_token_of_each_kind_signs_in(
    pclient: TestClient, provider: JwksServer, alg: str
) -> None:
    sub = f"ba-{uuid.uuid4().hex}"
    token = sign(
        key_for(provider, alg),
        claims(sub=sub, email=f"{sub}@Example.com", emailVerified=True, name="Grace"),
    )
    me = pclient.get("/api/v1/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == f"{sub}@example.com"
    assert me.json()["name"] == "Grace"
    again = pclient.get("/api/v1/users/me", headers=bearer(token))
    assert again.json()["id"] == me.json()["id"]


def test_shared_secret_token_signs_in(pclient: TestClient) -> None:
    token = sign_shared(claims(sub="hs-user"))
    me = pclient.get("/api/v1/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["email"] is None


def test_provider_user_created_once_keyed_by_issuer_and_sub(
    pclient: TestClient, provider: JwksServer, session: Session
) -> None:
    sub = f"ba-{uuid.uuid4().hex}"
    # The same subject through two key types and the shared secret: one user.
    ids = {
        pclient.get("/api/v1/users/me", headers=bearer(token)).json()["id"]
        for token in (
            sign(key_for(provider, "EdDSA"), claims(sub=sub)),
            sign(key_for(provider, "RS256"), claims(sub=sub)),
            sign_shared(claims(sub=sub)),
        )
    }
    assert len(ids) == 1
    rows = session.exec(select(User).where(col(User.auth_subject) == sub)).all()
    assert [(row[0].auth_issuer, row[0].hashed_password) for row in rows] == [(ISSUER, None)]


def test_provider_users_are_isolated(pclient: TestClient, provider: JwksServer) -> None:
    key = key_for(provider, "EdDSA")
    alice = bearer(sign(key, claims(sub="alice-" + uuid.uuid4().hex)))
    bob = bearer(sign(key, claims(sub="bob-" + uuid.uuid4().hex)))
    created = pclient.post("/api/v1/tasks", json={"title": "Alice's"}, headers=alice)
    assert created.status_code == 201
    assert_problem(pclient.get(created.headers["location"], headers=bob), 404)
    assert pclient.get("/api/v1/tasks", headers=bob).json()["items"] == []


def test_a_provider_user_gets_an_inbox_on_first_sight(
    pclient: TestClient, provider: JwksServer
) -> None:
    token = bearer(sign(key_for(provider, "EdDSA"), claims(sub="inbox-" + uuid.uuid4().hex)))
    lists = pclient.get("/api/v1/lists", headers=token)
    assert lists.status_code == 200, lists.text
    assert [(item["name"], item["inbox"]) for item in lists.json()] == [("Inbox", True)]
    task = pclient.post("/api/v1/tasks", json={"title": "first"}, headers=token).json()
    assert task["list_id"] == lists.json()[0]["id"]


def test_expired_provider_token_is_401_saying_expired(
    pclient: TestClient, provider: JwksServer
) -> None:
    token = sign(key_for(provider, "EdDSA"), claims(expires_in=timedelta(minutes=-1)))
    response = pclient.get("/api/v1/tasks", headers=bearer(token))
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token expired"'
    )
    assert "expired" in body["detail"]


@pytest.mark.parametrize(
    "case", ["wrong-audience", "unknown-kid", "bad-signature", "hs256-public-key", "hs-wrong"]
)
def test_invalid_provider_token_is_401(
    pclient: TestClient, provider: JwksServer, case: str
) -> None:
    key = key_for(provider, "ES256")
    token = {
        "wrong-audience": lambda: sign(key, claims(aud="https://other.example.com")),
        "unknown-kid": lambda: sign(key, claims(), kid="never-published"),
        "bad-signature": lambda: sign(key, claims())[:-4] + "AAAA",
        "hs256-public-key": lambda: sign_shared(claims(), secret=str(key.jwk)),
        "hs-wrong": lambda: sign_shared(claims(), secret="x" * 40),
    }[case]()
    response = pclient.get("/api/v1/tasks", headers=bearer(token))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token is invalid"'
    )


def test_wrong_issuer_is_401(pclient: TestClient, provider: JwksServer) -> None:
    token = sign(key_for(provider, "EdDSA"), claims(iss="https://evil.example.com"))
    assert_problem(pclient.get("/api/v1/tasks", headers=bearer(token)), 401)


def test_provider_tokens_refused_when_provider_not_configured(
    client: TestClient, provider: JwksServer
) -> None:
    token = sign(key_for(provider, "EdDSA"), claims())
    assert_problem(client.get("/api/v1/tasks", headers=bearer(token)), 401)


def test_local_accounts_keep_working_beside_the_provider(
    pclient: TestClient, provider: JwksServer
) -> None:
    account = make_account(pclient)
    make_task(pclient, account)
    assert len(pclient.get("/api/v1/tasks", headers=account.headers).json()["items"]) == 1


def test_unverified_or_taken_email_is_not_claimed(
    pclient: TestClient, provider: JwksServer
) -> None:
    key = key_for(provider, "EdDSA")
    local = make_account(pclient)
    taken = sign(key, claims(email=local.email, email_verified=True))
    me = pclient.get("/api/v1/users/me", headers=bearer(taken))
    assert me.status_code == 200
    assert me.json()["email"] is None
    assert me.json()["id"] != local.id
    # The local account is untouched and still logs in.
    assert pclient.get("/api/v1/users/me", headers=local.headers).json()["email"] == local.email


def test_provider_user_cannot_log_in_with_a_password(
    pclient: TestClient, provider: JwksServer
) -> None:
    email = f"p-{uuid.uuid4().hex[:8]}@example.com"
    token = sign(key_for(provider, "EdDSA"), claims(email=email, email_verified=True))
    assert pclient.get("/api/v1/users/me", headers=bearer(token)).json()["email"] == email
    for password in ("", "anything at all", "None"):
        response = pclient.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code in (401, 422)
    # Nor can somebody register the address the provider user holds.
    taken = pclient.post("/api/v1/auth/register", json={"email": email, "password": "long enough"})
    assert_problem(taken, 409)


def test_local_token_for_a_provider_user_is_refused(
    pclient: TestClient, provider: JwksServer, session: Session
) -> None:
    sub = f"ba-{uuid.uuid4().hex}"
    token = sign(key_for(provider, "EdDSA"), claims(sub=sub))
    user_id = pclient.get("/api/v1/users/me", headers=bearer(token)).json()["id"]
    settings = pclient.app.state.settings  # type: ignore[attr-defined]
    local = create_access_token(user_id=uuid.UUID(user_id), token_version=0, settings=settings)
    assert_problem(pclient.get("/api/v1/users/me", headers=bearer(local)), 401)


def test_deleted_provider_user_comes_back_empty(pclient: TestClient, provider: JwksServer) -> None:
    headers = bearer(sign(key_for(provider, "EdDSA"), claims(sub=f"ba-{uuid.uuid4().hex}")))
    first = pclient.get("/api/v1/users/me", headers=headers).json()["id"]
    pclient.post("/api/v1/tasks", json={"title": "gone soon"}, headers=headers)
    assert pclient.delete("/api/v1/users/me", headers=headers).status_code == 204
    assert pclient.get("/api/v1/users/me", headers=headers).json()["id"] != first
    assert pclient.get("/api/v1/tasks", headers=headers).json()["items"] == []


def test_keys_prefetched_at_start_up(make_client: ClientFactory) -> None:
    with JwksServer() as server:
        key = server.add_key("EdDSA")
        with make_client(**provider_settings(server)) as started:
            assert server.requests == 1
            token = sign(key, claims())
            for _ in range(3):
                assert started.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
            assert server.requests == 1


def test_provider_down_at_start_does_not_stop_the_app(make_client: ClientFactory) -> None:
    with JwksServer() as server:
        key = server.add_key("EdDSA")
        server.mode = "error"
        with make_client(
            **provider_settings(server, auth_jwks_refetch_cooldown_seconds=0)
        ) as started:
            assert started.get("/healthz").status_code == 200
            server.mode = "ok"
            me = started.get("/api/v1/users/me", headers=bearer(sign(key, claims())))
            assert me.status_code == 200


# --- LOCAL_ACCOUNTS_ENABLED=false -------------------------------------------------------


@pytest.fixture
def provider_only(make_client: ClientFactory, provider: JwksServer) -> TestClient:
    return make_client(**provider_settings(provider, local_accounts_enabled=False))


def test_local_accounts_off_removes_the_auth_routes(
    provider_only: TestClient, provider: JwksServer
) -> None:
    for path in ("register", "token", "refresh", "logout"):
        assert_problem(provider_only.post(f"/api/v1/auth/{path}", json={}), 404)
    spec = provider_only.get("/openapi.json").json()
    assert not [path for path in spec["paths"] if path.startswith("/api/v1/auth")]
    assert "auth" not in {
        tag for op in spec["paths"].values() for o in op.values() for tag in o["tags"]
    }
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes.values()) == [{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}]
    token = sign(key_for(provider, "EdDSA"), claims())
    assert provider_only.get("/api/v1/users/me", headers=bearer(token)).status_code == 200


def test_local_accounts_off_refuses_local_tokens(
    client: TestClient, make_client: ClientFactory, provider: JwksServer
) -> None:
    account = make_account(client)
    provider_only = make_client(**provider_settings(provider, local_accounts_enabled=False))
    assert_problem(provider_only.get("/api/v1/users/me", headers=account.headers), 401)


# --- race-safe creation (real commits, so the rows are removed at the end) ---------------


def test_concurrent_first_sight_creates_one_user(engine: Engine) -> None:
    issuer = f"https://race-{uuid.uuid4().hex[:8]}.example.com"
    results: list[uuid.UUID] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def first_request() -> None:
        try:
            with Session(engine, expire_on_commit=False) as db:
                barrier.wait(5)
                user = user_service.get_or_create_provider_user(
                    session=db, issuer=issuer, subject="same-sub", email=None, name=None
                )
                results.append(user.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_request) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert len(results) == 6
        assert len(set(results)) == 1
        with Session(engine) as db:
            assert len(db.exec(select(User).where(col(User.auth_issuer) == issuer)).all()) == 1
    finally:
        with Session(engine) as db:
            db.execute(delete(User).where(col(User.auth_issuer) == issuer))
            db.commit()


def test_provider_user_cannot_change_a_password_or_log_out_everywhere_here(
    pclient: TestClient, provider: JwksServer
) -> None:
    # Their password and sessions live with the provider; answering 204 would be a lie.
    sub = f"ba-{uuid.uuid4().hex}"
    token = sign(key_for(provider, "EdDSA"), claims(sub=sub))
    changed = pclient.post(
        "/api/v1/users/me/password",
        json={"current_password": "anything at all", "new_password": "a new passphrase"},
        headers=bearer(token),
    )
    body = assert_problem(changed, 409)
    assert body["type"] == "/problems/provider-account"
    logout_all = pclient.post("/api/v1/auth/logout-all", headers=bearer(token))
    assert_problem(logout_all, 409)
    assert pclient.get("/api/v1/users/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("local_accounts", [True, False])
def test_provider_users_make_personal_tokens(
    make_client: ClientFactory, provider: JwksServer, local_accounts: bool
) -> None:
    client = make_client(**provider_settings(provider, local_accounts_enabled=local_accounts))
    headers = bearer(sign_shared(claims()))  # a provider token: every scope
    body = {"name": "cron", "scopes": ["tasks:read"], "expires_in_days": 7}
    created = client.post("/api/v1/tokens", json=body, headers=headers)
    assert created.status_code == 201, created.text
    personal = bearer(created.json()["token"])
    assert client.get("/api/v1/tasks", headers=personal).status_code == 200
    refused = client.post("/api/v1/tasks", json={"title": "no"}, headers=personal)
    assert assert_problem(refused, 403)["type"] == "/problems/insufficient-scope"
    assert client.post("/api/v1/tasks", json={"title": "yes"}, headers=headers).status_code == 201
