"""Reminders through the API (issue 19): CRUD, the relative ones following the due, upcoming."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task

TASKS = "/api/v1/tasks"
UPCOMING = "/api/v1/reminders/upcoming"


def _add(client: TestClient, account: Account, task_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{TASKS}/{task_id}/reminders", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _soon(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def test_absolute_and_relative_reminders(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01T17:00:00+01:00")
    absolute = _add(client, account, task["id"], at="2026-12-01T08:30:00+01:00")
    assert absolute["at"] == "2026-12-01T07:30:00Z"
    assert absolute["fire_at"] == "2026-12-01T07:30:00Z"
    assert absolute["before"] is None
    relative = _add(client, account, task["id"], before="pt15m".upper())
    assert relative["before"] == "PT15M"
    assert relative["fire_at"] == "2026-12-01T15:45:00Z"
    assert relative["fired_at"] is None
    assert relative["missed"] is False
    listed = client.get(f"{TASKS}/{task['id']}/reminders", headers=account.headers).json()
    assert [r["id"] for r in listed] == [absolute["id"], relative["id"]]
    one = client.get(f"{TASKS}/{task['id']}/reminders/{relative['id']}", headers=account.headers)
    assert one.json() == relative


def test_all_day_reminders_count_from_a_time_of_day_in_your_zone(client: TestClient) -> None:
    account = make_account(client)
    client.patch("/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=account.headers)
    task = make_task(client, account, due="2026-03-10")
    evening = _add(client, account, task["id"], before="P1D", time="18:00")
    assert evening["time"] == "18:00:00"
    assert evening["fire_at"] == "2026-03-09T17:00:00Z"
    default = _add(client, account, task["id"], before="PT0S")
    assert default["fire_at"] == "2026-03-10T08:00:00Z"  # 09:00 in Berlin


def test_relative_reminders_follow_the_due(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01T09:00:00Z", recurrence="FREQ=DAILY")
    relative = _add(client, account, task["id"], before="PT1H")
    absolute = _add(client, account, task["id"], at="2026-11-30T12:00:00Z")
    response = client.patch(
        f"{TASKS}/{task['id']}", json={"due": "2026-12-05T09:00:00Z"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    url = f"{TASKS}/{task['id']}/reminders"
    fire_at = {r["id"]: r["fire_at"] for r in client.get(url, headers=account.headers).json()}
    assert fire_at == {
        relative["id"]: "2026-12-05T08:00:00Z",
        absolute["id"]: "2026-11-30T12:00:00Z",
    }
    completed = client.post(f"{TASKS}/{task['id']}/complete", headers=account.headers)
    assert completed.json()["due"] == "2026-12-06T09:00:00Z"
    fire_at = {r["id"]: r["fire_at"] for r in client.get(url, headers=account.headers).json()}
    assert fire_at[relative["id"]] == "2026-12-06T08:00:00Z"
    # A reminder on a task without a due waits for one.
    plain = make_task(client, account)
    waiting = _add(client, account, plain["id"], before="PT5M")
    assert waiting["fire_at"] is None
    client.patch(f"{TASKS}/{plain['id']}", json={"due": "2026-12-24"}, headers=account.headers)
    shown = client.get(f"{TASKS}/{plain['id']}/reminders/{waiting['id']}", headers=account.headers)
    assert shown.json()["fire_at"] == "2026-12-24T08:55:00Z"


def test_replace_and_delete(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01")
    reminder = _add(client, account, task["id"], before="P1D")
    url = f"{TASKS}/{task['id']}/reminders/{reminder['id']}"
    replaced = client.put(url, json={"at": "2026-11-30T10:00:00Z"}, headers=account.headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["before"] is None
    assert replaced.json()["fire_at"] == "2026-11-30T10:00:00Z"
    assert client.delete(url, headers=account.headers).status_code == 204
    assert_problem(client.get(url, headers=account.headers), 404)
    assert_problem(client.delete(url, headers=account.headers), 404)


def test_bodies_are_checked(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01")
    url = f"{TASKS}/{task['id']}/reminders"
    for body in [
        {},
        {"at": "2026-12-01T10:00:00Z", "before": "PT5M"},
        {"before": "P1M"},
        {"before": "PT"},
        {"before": "P999W"},
        {"at": "2026-12-01T10:00:00"},
        {"before": "PT5M", "time": "25:00"},
        {"at": "2026-12-01T10:00:00Z", "time": "10:00"},
    ]:
        assert_problem(client.post(url, json=body, headers=account.headers), 422)


def test_at_most_ten_reminders_a_task(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01")
    for minutes in range(10):
        _add(client, account, task["id"], before=f"PT{minutes}M")
    response = client.post(
        f"{TASKS}/{task['id']}/reminders", json={"before": "PT1H"}, headers=account.headers
    )
    assert assert_problem(response, 409)["type"] == "/problems/too-many-reminders"


def test_upcoming_lists_the_next_day_by_default(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, title="Pay the rent", due=_soon(3))
    soon = _add(client, account, task["id"], before="PT1H")
    later = _add(client, account, task["id"], at=_soon(48))
    _add(client, account, task["id"], at=_soon(-1))  # past: not upcoming
    items = client.get(UPCOMING, headers=account.headers).json()["items"]
    assert [(r["id"], r["task_title"]) for r in items] == [(soon["id"], "Pay the rent")]
    until = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    items = client.get(UPCOMING, params={"until": until}, headers=account.headers).json()["items"]
    assert [r["id"] for r in items] == [soon["id"], later["id"]]
    client.post(f"{TASKS}/{task['id']}/complete", headers=account.headers)
    assert client.get(UPCOMING, headers=account.headers).json() == {"items": []}
    other = make_account(client)
    assert client.get(UPCOMING, headers=other.headers).json() == {"items": []}
    assert_problem(
        client.get(UPCOMING, params={"until": "2026-12-01T10:00:00"}, headers=account.headers), 422
    )


def test_reminder_routes_need_a_token_and_your_own_task(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    task = make_task(client, alice, due="2026-12-01")
    reminder = _add(client, alice, task["id"], before="PT5M")
    base = f"{TASKS}/{task['id']}/reminders"
    one = f"{base}/{reminder['id']}"
    calls: list[tuple[str, str, Any]] = [
        ("GET", base, None),
        ("POST", base, {"before": "PT5M"}),
        ("GET", one, None),
        ("PUT", one, {"before": "PT5M"}),
        ("DELETE", one, None),
    ]
    for method, url, body in calls:
        assert_problem(client.request(method, url, json=body), 401)
        assert_problem(client.request(method, url, json=body, headers=bob.headers), 404)
    assert_problem(client.get(UPCOMING), 401)
    assert_problem(client.get(f"{base}/nope", headers=alice.headers), 404)
    # Alice's reminder under another of her tasks is not found either.
    other = make_task(client, alice)
    assert_problem(
        client.get(f"{TASKS}/{other['id']}/reminders/{reminder['id']}", headers=alice.headers), 404
    )
