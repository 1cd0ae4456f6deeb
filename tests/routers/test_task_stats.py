"""GET /api/v1/tasks/stats against counts worked out in Python from the tasks themselves."""

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task

PRIORITIES = ["none", "low", "medium", "high"]


def brute_force(tasks: list[dict[str, Any]], zone: str, now: datetime) -> dict[str, Any]:
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(), tz)
    end = datetime.combine(today + timedelta(days=1), time(), tz)

    def overdue(task: dict[str, Any]) -> bool:
        due = task["due"]
        if task["completed"] or due is None:
            return False
        if len(due) == 10:
            return date.fromisoformat(due) < today
        return datetime.fromisoformat(due) < now

    def due_today(task: dict[str, Any]) -> bool:
        due = task["due"]
        if task["completed"] or due is None:
            return False
        if len(due) == 10:
            return date.fromisoformat(due) == today
        return start <= datetime.fromisoformat(due) < end

    open_tasks = [t for t in tasks if not t["completed"]]
    tag_names = sorted({tag for t in tasks for tag in t["tags"]}, key=str.casefold)
    return {
        "total": len(tasks),
        "open": len(open_tasks),
        "completed": len(tasks) - len(open_tasks),
        "overdue": sum(map(overdue, tasks)),
        "due_today": sum(map(due_today, tasks)),
        "by_priority": {
            p: {
                "open": sum(t["priority"] == p for t in open_tasks),
                "total": sum(t["priority"] == p for t in tasks),
            }
            for p in PRIORITIES
        },
        "by_tag": [
            (
                name,
                sum(name in t["tags"] for t in open_tasks),
                sum(name in t["tags"] for t in tasks),
            )
            for name in tag_names
        ],
    }


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_stats_match_a_brute_force_count(client: TestClient, zone: str) -> None:
    owner = make_account(client)
    other = make_account(client)
    make_task(client, other, tags=["work"], due="2000-01-01")  # never counted for owner
    response = client.patch("/api/v1/users/me", json={"timezone": zone}, headers=owner.headers)
    assert response.json()["timezone"] == zone
    rng = random.Random(7)
    now = datetime.now(UTC)
    local_today = now.astimezone(ZoneInfo(zone)).date()
    dues: list[str | None] = [None]
    dues += [(local_today + timedelta(days=d)).isoformat() for d in (-2, -1, 0, 1, 3)]
    dues += [(now + timedelta(hours=h)).isoformat() for h in (-30, -5, -2, 3, 7, 40)]
    for i in range(40):
        make_task(
            client,
            owner,
            title=f"task {i}",
            priority=rng.choice(PRIORITIES),
            due=rng.choice(dues),
            tags=rng.sample(["work", "home", "Errands", "idle"], rng.randint(0, 2)),
            completed=rng.random() < 0.35,
        )
    client.post(
        "/api/v1/tasks", json={"title": "t", "tags": ["unused-later"]}, headers=owner.headers
    )
    tasks = client.get("/api/v1/tasks?limit=100", headers=owner.headers).json()["items"]
    expected = brute_force(tasks, zone, datetime.now(UTC))
    stats = client.get("/api/v1/tasks/stats", headers=owner.headers)
    assert stats.status_code == 200
    body = stats.json()
    by_tag = [(t["name"], t["open"], t["total"]) for t in body.pop("by_tag")]
    assert by_tag == expected.pop("by_tag")
    assert body == expected
    assert expected["overdue"] > 0
    assert expected["due_today"] > 0


def test_stats_of_a_new_account_are_zero(client: TestClient) -> None:
    owner = make_account(client)
    body = client.get("/api/v1/tasks/stats", headers=owner.headers).json()
    assert body["total"] == body["open"] == body["overdue"] == body["due_today"] == 0
    assert body["by_priority"] == {p: {"open": 0, "total": 0} for p in PRIORITIES}
    assert body["by_tag"] == []


def test_stats_anonymous_is_401(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/tasks/stats"), 401)


def test_stats_is_not_mistaken_for_a_task_id(client: TestClient) -> None:
    owner: Account = make_account(client)
    assert client.get("/api/v1/tasks/stats", headers=owner.headers).status_code == 200
    # Other methods fall through to /{task_id}, where "stats" is not an id: 404.
    assert_problem(client.delete("/api/v1/tasks/stats", headers=owner.headers), 404)
