"""The authentication caches through the API and on their own, on both databases: a cached
token still expires, the caches stay bounded, a withdrawn provider key undoes what it signed."""

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.authenticator import Authenticator
from app.core.config import Settings
from app.core.errors import InvalidProviderToken
from app.core.security import create_access_token
from tests.conftest import ClientFactory
from tests.core.test_provider_tokens import FakeClock, make_verifier
from tests.factories import assert_problem, make_account
from tests.provider import ISSUER, JwksServer


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


def test_a_token_that_expires_while_cached_is_refused(make_client: ClientFactory) -> None:
    client = make_client(jwt_leeway_seconds=0)
    account = make_account(client)
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    # Issued long enough ago that it has two seconds left.
    issued = datetime.now(UTC) - lifetime + timedelta(seconds=2)
    token = create_access_token(
        user_id=uuid.UUID(account.id), token_version=0, settings=settings, now=issued
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    authenticator: Authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
    assert authenticator.cached(token) is not None  # remembered...
    time.sleep(2.1)
    assert authenticator.cached(token) is None  # ...until it expires
    assert_problem(client.get("/api/v1/tasks", headers=headers), 401)


def test_the_token_cache_stays_bounded(make_client: ClientFactory) -> None:
    client = make_client(auth_cache_size=3)
    account = make_account(client)
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    authenticator: Authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
    for n in range(12):
        token = create_access_token(
            user_id=uuid.UUID(account.id),
            token_version=0,
            settings=settings,
            now=datetime.now(UTC) - timedelta(seconds=n),
        )
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
        assert len(authenticator.local_tokens) <= 3
    assert len(authenticator.callers) <= 3


def test_a_withdrawn_provider_key_undoes_what_it_signed(
    session: Session, settings: Settings, provider: JwksServer
) -> None:
    clock = FakeClock()
    old = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    authenticator = Authenticator(settings, verifier)
    token = provider.mint(old, sub="rotating")
    caller = authenticator.authenticate(session, token)
    assert caller.auth_issuer == ISSUER
    assert authenticator.cached(token) == caller

    # The provider rotates: a new key, the old one withdrawn; our copy of the set follows.
    provider.add_key("ES256")
    provider.keys.remove(old)
    clock.now += 31
    assert verifier.jwks.refresh()
    assert authenticator.cached(token) is None
    with pytest.raises(InvalidProviderToken):
        authenticator.authenticate(session, token)


def test_a_new_provider_key_keeps_what_the_others_signed(
    session: Session, settings: Settings, provider: JwksServer
) -> None:
    clock = FakeClock()
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    authenticator = Authenticator(settings, verifier)
    token = provider.mint(key, sub="steady")
    caller = authenticator.authenticate(session, token)
    provider.add_key("ES256")
    clock.now += 31
    assert verifier.jwks.refresh()
    assert authenticator.cached(token) == caller


def test_the_same_account_revoked_in_this_process_is_refused_at_once(
    client: TestClient,
) -> None:
    account = make_account(client)
    assert client.get("/api/v1/tasks", headers=account.headers).status_code == 200
    changed = client.patch(
        "/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=account.headers
    )
    assert changed.status_code == 200
    # The time zone is remembered with the account: the next request sees the new one.
    authenticator: Authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
    assert client.get("/api/v1/tasks", headers=account.headers).status_code == 200
    cached = authenticator.cached(account.access_token)
    assert cached is not None
    assert cached.timezone == "Europe/Berlin"
