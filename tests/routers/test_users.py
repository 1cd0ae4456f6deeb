from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.schemas.user import UserUpdate
from tests.factories import assert_problem, make_account, make_task


def test_get_me(client: TestClient) -> None:
    account = make_account(client)
    response = client.get("/api/v1/users/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["email"] == account.email


def test_get_me_anonymous_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/users/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_update_me_name_and_clear(client: TestClient) -> None:
    account = make_account(client)
    named = client.patch("/api/v1/users/me", json={"name": "  Grace  "}, headers=account.headers)
    assert named.status_code == 200
    assert named.json()["name"] == "Grace"
    cleared = client.patch("/api/v1/users/me", json={"name": None}, headers=account.headers)
    assert cleared.json()["name"] is None


def test_update_me_cannot_change_email(client: TestClient) -> None:
    account = make_account(client)
    response = client.patch(
        "/api/v1/users/me", json={"email": "new@example.com"}, headers=account.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "email"]


def test_delete_me_removes_account_tasks_and_tokens(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account)
    response = client.delete("/api/v1/users/me", headers=account.headers)
    assert response.status_code == 204
    assert_problem(client.get("/api/v1/users/me", headers=account.headers), 401)
    assert_problem(client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers), 401)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_problem(refreshed, 401)
    relogin = client.post(
        "/api/v1/auth/token", data={"username": account.email, "password": account.password}
    )
    assert_problem(relogin, 401)
    # The email is free again.
    again = make_account(client, email=account.email)
    assert client.get("/api/v1/tasks", headers=again.headers).json()["items"] == []


def test_timezone_defaults_to_utc_and_can_be_changed(client: TestClient) -> None:
    account = make_account(client)
    assert client.get("/api/v1/users/me", headers=account.headers).json()["timezone"] == "UTC"
    response = client.patch(
        "/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.json()["timezone"] == "Europe/Berlin"
    assert response.json()["name"] is None
    again = client.get("/api/v1/users/me", headers=account.headers).json()
    assert again["timezone"] == "Europe/Berlin"


def test_unknown_or_null_timezone_is_422(client: TestClient) -> None:
    account = make_account(client)
    # Exactly a name of the contract's list: surrounding spaces are not trimmed away.
    for zone in (
        "Mars/Olympus",
        "",
        "../../etc/passwd",
        "utc ",
        "UTC ",
        " Europe/Berlin",
        "Europe/berlin",
        "localtime",
        None,
        5,
    ):
        response = client.patch(
            "/api/v1/users/me", json={"timezone": zone}, headers=account.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["body", "timezone"], zone
    assert client.get("/api/v1/users/me", headers=account.headers).json()["timezone"] == "UTC"


def test_every_zone_of_the_contract_is_accepted_and_loads(app: FastAPI) -> None:
    schema = app.openapi()["components"]["schemas"]["UserUpdate"]["properties"]["timezone"]
    zones, names = schema["enum"], schema["x-enum-varnames"]
    assert {"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"} <= set(zones)
    # Generated clients name each zone; the names must stay distinct.
    assert len(set(names)) == len(names) == len(zones)
    for zone in zones:
        assert UserUpdate.model_validate({"timezone": zone}).timezone == zone
        ZoneInfo(zone)
