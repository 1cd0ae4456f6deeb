"""Recurring tasks through the API (issue 19): the fields, completing, skipping, previews."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Account, assert_problem, make_account, make_task

TASKS = "/api/v1/tasks"


def _zone(client: TestClient, account: Account, zone: str) -> None:
    response = client.patch("/api/v1/users/me", json={"timezone": zone}, headers=account.headers)
    assert response.status_code == 200, response.text


def _complete(client: TestClient, account: Account, task_id: str) -> dict[str, Any]:
    response = client.post(f"{TASKS}/{task_id}/complete", headers=account.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _completions(client: TestClient, account: Account, task_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{TASKS}/{task_id}/completions", headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_task_carries_its_rule_in_canonical_form(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(
        client, account, due="2026-12-01", recurrence="rrule:bymonthday=1;freq=monthly"
    )
    assert task["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert task["recurrence_basis"] == "due"
    plain = make_task(client, account)
    assert plain["recurrence"] is None
    assert plain["recurrence_basis"] == "due"
    listed = client.get(TASKS, headers=account.headers).json()["items"]
    assert {t["recurrence"] for t in listed} == {None, "FREQ=MONTHLY;BYMONTHDAY=1"}


def test_a_refused_rule_is_a_422_naming_recurrence_and_the_part(client: TestClient) -> None:
    account = make_account(client)
    for rule, part in [
        ("FREQ=SECONDLY", "FREQ"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
        ("FREQ=WEEKLY;FOO=1", "FOO"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY"),
    ]:
        response = client.post(
            TASKS,
            json={"title": "x", "due": "2026-12-01", "recurrence": rule},
            headers=account.headers,
        )
        problem = assert_problem(response, 422)
        (error,) = problem["errors"]
        assert error["loc"] == ["body", "recurrence"]
        assert part in error["msg"], error


def test_a_recurrence_needs_a_due(client: TestClient) -> None:
    account = make_account(client)
    response = client.post(
        TASKS, json={"title": "x", "recurrence": "FREQ=DAILY"}, headers=account.headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "recurrence"]
    plain = make_task(client, account)
    response = client.patch(
        f"{TASKS}/{plain['id']}", json={"recurrence": "FREQ=DAILY"}, headers=account.headers
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "recurrence"]
    response = client.put(
        f"{TASKS}/{plain['id']}",
        json={"title": "x", "recurrence": "FREQ=DAILY"},
        headers=account.headers,
    )
    assert_problem(response, 422)
    recurring = make_task(client, account, due="2026-12-01", recurrence="FREQ=DAILY")
    response = client.patch(
        f"{TASKS}/{recurring['id']}", json={"due": None}, headers=account.headers
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "due"]
    # Clearing both stops the recurrence.
    response = client.patch(
        f"{TASKS}/{recurring['id']}",
        json={"due": None, "recurrence": None},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["recurrence"] is None
    # A due and a rule in one PATCH.
    response = client.patch(
        f"{TASKS}/{plain['id']}",
        json={"due": "2026-12-05", "recurrence": "FREQ=WEEKLY", "recurrence_basis": "completion"},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["recurrence_basis"] == "completion"


def test_completing_a_monthly_bill_moves_it_to_the_next_month(client: TestClient) -> None:
    account = make_account(client)
    bill = make_task(client, account, due="2026-12-01", recurrence="FREQ=MONTHLY;BYMONTHDAY=1")
    done = _complete(client, account, bill["id"])
    assert done["due"] == "2027-01-01"
    assert done["completed"] is False
    assert done["completed_at"] is None
    done = _complete(client, account, bill["id"])
    assert done["due"] == "2027-02-01"
    completions = _completions(client, account, bill["id"])
    assert [c["due"] for c in completions] == ["2027-01-01", "2026-12-01"]
    assert all(c["completed_at"] for c in completions)


def test_a_timed_series_keeps_its_local_time_across_dst(client: TestClient) -> None:
    account = make_account(client)
    _zone(client, account, "Europe/Berlin")
    # 09:00 in Berlin on Saturday 28 March 2026 (winter time), daily.
    task = make_task(client, account, due="2026-03-28T09:00:00+01:00", recurrence="FREQ=DAILY")
    assert task["due"] == "2026-03-28T08:00:00Z"
    assert _complete(client, account, task["id"])["due"] == "2026-03-29T07:00:00Z"
    preview = client.get(f"{TASKS}/{task['id']}/occurrences?limit=3", headers=account.headers)
    assert preview.json()["items"] == [
        "2026-03-29T07:00:00Z",
        "2026-03-30T07:00:00Z",
        "2026-03-31T07:00:00Z",
    ]


def test_three_days_after_done(client: TestClient) -> None:
    account = make_account(client)
    chore = make_task(
        client,
        account,
        due="2020-01-10",
        recurrence="FREQ=DAILY;INTERVAL=3",
        recurrence_basis="completion",
    )
    done = _complete(client, account, chore["id"])
    # Three days after today (UTC for this account), whatever the old due was.
    expected = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    assert done["due"] in {
        expected,
        (datetime.now(UTC).date() + timedelta(days=4)).isoformat(),  # midnight passed
    }


def test_the_last_occurrence_closes_the_task(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01", recurrence="FREQ=WEEKLY;COUNT=2")
    assert _complete(client, account, task["id"])["due"] == "2026-12-08"
    closed = _complete(client, account, task["id"])
    assert closed["completed"] is True
    assert closed["completed_at"] is not None
    assert closed["due"] == "2026-12-08"
    again = _complete(client, account, task["id"])  # completing a closed task changes nothing
    assert again == closed
    assert len(_completions(client, account, task["id"])) == 2
    preview = client.get(f"{TASKS}/{task['id']}/occurrences", headers=account.headers)
    assert preview.json() == {"items": []}


def test_completing_the_same_occurrence_twice_advances_once(client: TestClient) -> None:
    """A retry of a complete whose answer was lost: with If-Match it is refused (412), with
    Idempotency-Key it gets the first answer; either way the task advanced once."""
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01", recurrence="FREQ=DAILY")
    url = f"{TASKS}/{task['id']}/complete"
    guarded = {**account.headers, "If-Match": f'"{task["version"]}"'}
    first = client.post(url, headers=guarded)
    assert first.json()["due"] == "2026-12-02"
    retry = client.post(url, headers=guarded)
    assert assert_problem(retry, 412)["version"] == first.json()["version"]
    keyed = {**account.headers, "Idempotency-Key": "complete-rent-once"}
    second = client.post(url, headers=keyed)
    replay = client.post(url, headers=keyed)
    assert second.json()["due"] == replay.json()["due"] == "2026-12-03"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(_completions(client, account, task["id"])) == 2


def test_skip_advances_without_a_completion(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-01-30", recurrence="FREQ=MONTHLY;BYDAY=-1FR")
    response = client.post(f"{TASKS}/{task['id']}/skip", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["due"] == "2026-02-27"
    # A retry with the version it read skips once: the second is a 412.
    guarded = {**account.headers, "If-Match": f'"{response.json()["version"]}"'}
    for status in (200, 412):
        response = client.post(f"{TASKS}/{task['id']}/skip", headers=guarded)
        assert response.status_code == status, response.text
    current = client.get(f"{TASKS}/{task['id']}", headers=account.headers).json()
    assert current["due"] == "2026-03-27"
    assert _completions(client, account, task["id"]) == []
    plain = make_task(client, account, due="2026-01-30")
    response = client.post(f"{TASKS}/{plain['id']}/skip", headers=account.headers)
    assert assert_problem(response, 409)["type"] == "/problems/not-recurring"


def test_setting_the_same_due_again_keeps_the_series_count(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01", recurrence="FREQ=DAILY;COUNT=3")
    advanced = _complete(client, account, task["id"])
    # A client sends back what it read: the series keeps its place (2 of 3 left).
    body = {k: advanced[k] for k in ("title", "due", "recurrence", "recurrence_basis")}
    response = client.put(f"{TASKS}/{task['id']}", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    assert _complete(client, account, task["id"])["due"] == "2026-12-03"
    assert _complete(client, account, task["id"])["completed"] is True


def test_occurrences_of_plain_and_all_day_tasks(client: TestClient) -> None:
    account = make_account(client)
    plain = make_task(client, account, due="2026-12-01")
    assert client.get(f"{TASKS}/{plain['id']}/occurrences", headers=account.headers).json() == {
        "items": ["2026-12-01"]
    }
    none = make_task(client, account)
    assert client.get(f"{TASKS}/{none['id']}/occurrences", headers=account.headers).json() == {
        "items": []
    }
    feb = make_task(client, account, due="2027-12-31", recurrence="FREQ=MONTHLY;BYMONTHDAY=-1")
    items = client.get(f"{TASKS}/{feb['id']}/occurrences?limit=4", headers=account.headers).json()[
        "items"
    ]
    assert items == ["2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31"]
    response = client.get(f"{TASKS}/{feb['id']}/occurrences?limit=0", headers=account.headers)
    assert_problem(response, 422)


def test_the_hackathon_routes_complete_a_recurring_task_like_v1(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, due="2026-12-01", recurrence="FREQ=DAILY")
    response = client.patch(
        f"/api/{account.id}/tasks/{task['id']}/complete",
        json={"completed": True},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    shown = client.get(f"{TASKS}/{task['id']}", headers=account.headers).json()
    assert shown["due"] == "2026-12-02"
    assert shown["completed"] is False


def test_recurrence_routes_need_a_token_and_your_own_task(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    task = make_task(client, alice, due="2026-12-01", recurrence="FREQ=DAILY")
    for method, suffix in [("GET", "completions"), ("GET", "occurrences"), ("POST", "skip")]:
        url = f"{TASKS}/{task['id']}/{suffix}"
        assert_problem(client.request(method, url), 401)
        assert_problem(client.request(method, url, headers=bob.headers), 404)
        missing = f"{TASKS}/00000000-0000-0000-0000-000000000000/{suffix}"
        assert_problem(client.request(method, missing, headers=alice.headers), 404)
        assert_problem(client.request(method, f"{TASKS}/nope/{suffix}", headers=alice.headers), 404)
    assert_problem(client.post(f"{TASKS}/{task['id']}/complete", headers=bob.headers), 404)


# The calendar's traps through the API, on both databases: (zone, due, rule, the preview).
TRAPS = [
    pytest.param(
        "UTC",
        "2026-01-31",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"],
        id="31st-skips-short-months",
    ),
    pytest.param(
        "UTC",
        "2026-01-31",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"],
        id="last-day-of-the-month",
    ),
    pytest.param(
        "UTC",
        "2024-02-29",
        "FREQ=YEARLY",
        ["2024-02-29", "2028-02-29", "2032-02-29", "2036-02-29"],
        id="29-february",
    ),
    pytest.param(
        "UTC",
        "2026-01-30",
        "FREQ=MONTHLY;BYDAY=-1FR",
        ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"],
        id="last-friday",
    ),
    pytest.param(
        # Berlin springs forward at 02:00 on 29 March 2026: 02:30 does not exist that day and
        # is 03:30 summer time (01:30 UTC); the day after is back at 02:30 (00:30 UTC).
        "Europe/Berlin",
        "2026-03-28T02:30:00+01:00",
        "FREQ=DAILY",
        ["2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"],
        id="dst-gap",
    ),
    pytest.param(
        # 02:30 happens twice on 25 October 2026 in Berlin: the first (summer time) counts.
        "Europe/Berlin",
        "2026-10-24T02:30:00+02:00",
        "FREQ=DAILY",
        ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
        id="dst-fold",
    ),
]


@pytest.mark.parametrize(("zone", "due", "rule", "expected"), TRAPS)
def test_the_calendars_traps_preview_and_complete(
    client: TestClient, zone: str, due: str, rule: str, expected: list[str]
) -> None:
    account = make_account(client)
    _zone(client, account, zone)
    task = make_task(client, account, due=due, recurrence=rule)
    url = f"{TASKS}/{task['id']}/occurrences?limit={len(expected)}"
    assert client.get(url, headers=account.headers).json()["items"] == expected
    # Completing walks the same dates, one at a time.
    walked = [task["due"]]
    for _ in expected[1:]:
        walked.append(_complete(client, account, task["id"])["due"])
    assert walked == expected
