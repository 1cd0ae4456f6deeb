"""Sessions: refresh-token reuse detection, logout everywhere, password change, hash upgrade."""

import logging
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.models import RefreshToken, User
from tests.factories import Account, assert_problem, login, make_account

NEW_PASSWORD = "a brand new passphrase"


def _refresh(client: TestClient, token: str) -> object:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def _me(client: TestClient, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return client.get("/api/v1/users/me", headers=headers).status_code


def test_reused_refresh_token_revokes_the_family(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(refresh_reuse_grace_seconds=0)
    victim = make_account(client)
    other_login = login(client, email=victim.email, password=victim.password)
    rotated = _refresh(client, victim.refresh_token)
    assert rotated.status_code == 200  # type: ignore[attr-defined]
    current = rotated.json()["refresh_token"]  # type: ignore[attr-defined]

    with caplog.at_level(logging.INFO, logger="app.security"):
        replay = _refresh(client, victim.refresh_token)  # the thief's copy
    body = assert_problem(replay, 401)
    assert body["type"] == "/problems/invalid-refresh-token"
    # The whole family is dead, including the newest token the legitimate client holds...
    assert_problem(_refresh(client, current), 401)
    # ...but a separate login (another family) is untouched.
    assert _refresh(client, other_login["refresh_token"]).status_code == 200  # type: ignore[attr-defined]

    # One event for the replay (and another when the legitimate client's now-dead token is
    # presented: from the server's side that is a replay too).
    events = [r for r in caplog.records if getattr(r, "event", None) == "refresh_token_reuse"]
    assert len(events) == 2
    event = events[0]
    assert event.levelno == logging.WARNING
    assert event.user_id == victim.id  # type: ignore[attr-defined]
    assert event.revoked_tokens == 1  # type: ignore[attr-defined]
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert victim.refresh_token not in text
        assert current not in text


def test_replay_within_grace_period_is_refused_but_keeps_the_family(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    # Two tabs refresh with the same token at once: the loser must not log the winner out.
    client = make_client(refresh_reuse_grace_seconds=30)
    account = make_account(client)
    winner = _refresh(client, account.refresh_token)
    assert winner.status_code == 200  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="app.security"):
        loser = _refresh(client, account.refresh_token)
    assert_problem(loser, 401)
    assert _refresh(client, winner.json()["refresh_token"]).status_code == 200  # type: ignore[attr-defined]
    assert [getattr(r, "event", None) for r in caplog.records] == ["refresh_token_race"]


def test_replay_after_grace_period_revokes(
    make_client: Callable[..., TestClient], session: Session
) -> None:
    client = make_client(refresh_reuse_grace_seconds=30)
    account = make_account(client)
    winner = _refresh(client, account.refresh_token).json()  # type: ignore[attr-defined]
    # Age the rotation past the grace period.
    from datetime import timedelta

    from app.core.security import hash_refresh_token
    from app.models.base import utcnow

    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.token_hash) == hash_refresh_token(account.refresh_token))
        .values(revoked_at=utcnow() - timedelta(seconds=31))
    )
    session.commit()
    assert_problem(_refresh(client, account.refresh_token), 401)
    assert_problem(_refresh(client, winner["refresh_token"]), 401)


def test_unknown_refresh_token_revokes_nothing(client: TestClient) -> None:
    account = make_account(client)
    assert_problem(_refresh(client, "never-issued-token"), 401)
    assert _refresh(client, account.refresh_token).status_code == 200  # type: ignore[attr-defined]


def test_logout_all_revokes_refresh_and_access_tokens(client: TestClient) -> None:
    account = make_account(client)
    second = login(client, email=account.email, password=account.password)
    response = client.post("/api/v1/auth/logout-all", headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    for refresh in (account.refresh_token, second["refresh_token"]):
        assert_problem(_refresh(client, refresh), 401)
    for access in (account.access_token, second["access_token"]):
        assert _me(client, access) == 401
    # Logging in again works and yields working tokens.
    fresh = login(client, email=account.email, password=account.password)
    assert _me(client, fresh["access_token"]) == 200


def test_logout_all_requires_authentication(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/auth/logout-all"), 401)


def _change_password(client: TestClient, account: Account, current: str, new: str) -> object:
    return client.post(
        "/api/v1/users/me/password",
        json={"current_password": current, "new_password": new},
        headers=account.headers,
    )


def test_change_password_ends_other_sessions_and_keeps_this_one(client: TestClient) -> None:
    account = make_account(client)
    elsewhere = login(client, email=account.email, password=account.password)
    response = _change_password(client, account, account.password, NEW_PASSWORD)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    pair = response.json()  # type: ignore[attr-defined]
    assert _me(client, pair["access_token"]) == 200
    assert _refresh(client, pair["refresh_token"]).status_code == 200  # type: ignore[attr-defined]
    # Tokens minted before the change are dead, access and refresh alike.
    assert _me(client, account.access_token) == 401
    assert _me(client, elsewhere["access_token"]) == 401
    assert_problem(_refresh(client, account.refresh_token), 401)
    assert_problem(_refresh(client, elsewhere["refresh_token"]), 401)
    # The old password no longer logs in; the new one does.
    old = client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": account.password}
    )
    assert_problem(old, 401)
    login(client, email=account.email, password=NEW_PASSWORD)


def test_change_password_wrong_current_is_403_and_changes_nothing(client: TestClient) -> None:
    account = make_account(client)
    response = _change_password(client, account, "not my password", NEW_PASSWORD)
    body = assert_problem(response, 403)
    assert body["type"] == "/problems/wrong-current-password"
    assert _me(client, account.access_token) == 200
    login(client, email=account.email, password=account.password)


def test_change_password_validates_new_password(client: TestClient) -> None:
    account = make_account(client)
    body = assert_problem(_change_password(client, account, account.password, "short"), 422)
    assert body["errors"][0]["loc"] == ["body", "new_password"]
    assert_problem(_change_password(client, account, "x" * 129, NEW_PASSWORD), 422)


@pytest.mark.parametrize(
    "old_hasher",
    [
        pytest.param(BcryptHasher(rounds=4), id="bcrypt"),
        pytest.param(
            Argon2Hasher(time_cost=1, memory_cost=512, parallelism=1), id="argon2-old-params"
        ),
    ],
)
def test_login_upgrades_outdated_password_hash(
    client: TestClient, session: Session, old_hasher: BcryptHasher | Argon2Hasher
) -> None:
    account = make_account(client)
    old_hash = old_hasher.hash(account.password)
    session.execute(
        update(User).where(col(User.id) == uuid.UUID(account.id)).values(hashed_password=old_hash)
    )
    session.commit()
    login(client, email=account.email, password=account.password)
    session.expire_all()
    stored = session.exec(
        select(User.hashed_password).where(col(User.id) == uuid.UUID(account.id))
    ).one()
    assert stored != old_hash
    assert stored.startswith("$argon2id$")
    assert "m=1024,t=1,p=1" in stored  # the current (test) parameters
    login(client, email=account.email, password=account.password)
