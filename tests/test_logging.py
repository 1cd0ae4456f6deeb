"""Passwords, tokens and Authorization headers never reach the logs, at any level.

The real-server variant (uvicorn's access log included) is in tests/test_two_servers.py.
"""

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.factories import unique_email

PASSWORD = "p4ssw0rd never logged"
NEW_PASSWORD = "n3w p4ssw0rd never logged"


def test_nothing_secret_is_logged_even_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL statements too
    settings = make_settings(
        f"sqlite:///{tmp_path / 'tasks.db'}", tmp_path, refresh_reuse_grace_seconds=0
    )
    app = create_app(settings)
    secrets: list[str] = [PASSWORD, NEW_PASSWORD]
    with TestClient(app, raise_server_exceptions=False) as client:
        email = unique_email()
        assert (
            client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            ).status_code
            == 201
        )
        pair = client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        ).json()
        client.post("/api/v1/auth/token", data={"username": email, "password": "wrong one!"})
        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).json()
        # A replay: a security event is logged, without the token.
        assert (
            client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            ).status_code
            == 401
        )
        headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
        client.get("/api/v1/users/me", headers=headers)
        client.post("/api/v1/tasks", json={"title": "x"}, headers=headers)
        client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged.jwt.value"})
        changed = client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=headers,
        ).json()
        secrets += [
            pair["access_token"],
            pair["refresh_token"],
            refreshed["access_token"],
            refreshed["refresh_token"],
            changed["access_token"],
            changed["refresh_token"],
            "forged.jwt.value",
        ]
    records = caplog.records
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL was logged"
    assert any(getattr(r, "event", None) == "refresh_token_reuse" for r in records)
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.__dict__!r} {r.exc_text or ''}" for r in records
    )
    for secret in secrets:
        assert secret not in text
    assert "bearer" not in text.lower()
    assert "authorization" not in text.lower()
