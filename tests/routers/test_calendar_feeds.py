"""Calendar feeds (issue 20): managing the secret URLs, and what a feed URL serves.

Every feed read here is parsed with vobject, a second iCalendar implementation, not with the
`icalendar` library that wrote it.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import vobject
from fastapi.testclient import TestClient

from tests.factories import (
    Account,
    assert_problem,
    bearer,
    make_account,
    make_personal_token,
    make_task,
)

FEEDS = "/api/v1/calendar/feeds"


def make_feed(client: TestClient, account: Account, **body: Any) -> dict[str, Any]:
    response = client.post(FEEDS, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def feed_path(feed: dict[str, Any]) -> str:
    return urlsplit(feed["url"]).path


def read_feed(client: TestClient, feed: dict[str, Any], **params: str) -> Any:
    """The feed parsed by vobject."""
    response = client.get(feed_path(feed), params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return vobject.readOne(response.text)


def todos(calendar: Any) -> dict[str, Any]:
    return {c.uid.value: c for c in calendar.contents.get("vtodo", [])}


def events(calendar: Any) -> dict[str, Any]:
    return {c.uid.value: c for c in calendar.contents.get("vevent", [])}


def uid(task: dict[str, Any]) -> str:
    return f"{task['id']}@tasks-api"


def test_create_list_and_revoke_a_feed(client: TestClient) -> None:
    account = make_account(client)
    feed = make_feed(client, account, name="Work", flavour="events")
    assert feed["name"] == "Work"
    assert feed["flavour"] == "events"
    assert feed["list_ids"] == []
    assert feed["tags"] == []
    path = feed_path(feed)
    assert path.startswith("/calendar/tcf_")
    assert path.endswith(".ics")
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) == 4 + 43
    assert feed["last_four"] == token[-4:]
    listed = client.get(FEEDS, headers=account.headers)
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json()] == [feed["id"]]
    assert "url" not in listed.json()[0]
    assert token not in listed.text
    assert client.get(path).status_code == 200
    deleted = client.delete(f"{FEEDS}/{feed['id']}", headers=account.headers)
    assert deleted.status_code == 204
    assert_problem(client.get(path), 404)
    assert client.get(FEEDS, headers=account.headers).json() == []
    assert_problem(client.delete(f"{FEEDS}/{feed['id']}", headers=account.headers), 404)


def test_managing_feeds_needs_a_token(client: TestClient) -> None:
    assert_problem(client.post(FEEDS, json={}), 401)
    assert_problem(client.get(FEEDS), 401)
    assert_problem(client.delete(f"{FEEDS}/{uuid.uuid4()}"), 401)


def test_a_personal_token_needs_calendar_manage(client: TestClient) -> None:
    account = make_account(client)
    reader = bearer(make_personal_token(client, account, ["tasks:read"])["token"])
    body = assert_problem(client.post(FEEDS, json={}, headers=reader), 403)
    assert body["type"] == "/problems/insufficient-scope"
    manager = bearer(make_personal_token(client, account, ["calendar:manage"])["token"])
    assert client.post(FEEDS, json={}, headers=manager).status_code == 201


def test_another_users_feed_is_not_found(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    feed = make_feed(client, alice)
    assert client.get(FEEDS, headers=bob.headers).json() == []
    assert_problem(client.delete(f"{FEEDS}/{feed['id']}", headers=bob.headers), 404)
    assert_problem(client.delete(f"{FEEDS}/not-a-uuid", headers=bob.headers), 404)
    assert client.get(feed_path(feed)).status_code == 200  # still alice's


def test_an_unknown_token_is_not_found(client: TestClient) -> None:
    assert_problem(client.get("/calendar/tcf_nothing-of-ours.ics"), 404)
    assert_problem(client.get(f"/calendar/{'x' * 5000}.ics"), 404)


def test_invalid_bodies_are_422(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    bobs_list = client.post("/api/v1/lists", json={"name": "Bob's"}, headers=bob.headers).json()
    for body in (
        {"flavour": "vjournal"},
        {"unknown": 1},
        {"name": ""},
        {"name": 5},
        {"tags": ["a", "A"]},
        {"list_ids": ["not-a-uuid"]},
        {"list_ids": [bobs_list["id"]]},  # not alice's: like a missing one
        {"list_ids": [str(uuid.uuid4())]},
    ):
        assert_problem(client.post(FEEDS, json=body, headers=alice.headers), 422)
    assert client.get(FEEDS, headers=alice.headers).json() == []


def test_a_vtodo_per_task_with_its_fields(client: TestClient) -> None:
    account = make_account(client)
    client.patch("/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=account.headers)
    parent = make_task(
        client,
        account,
        title="Quarterly report",
        description="Numbers\nand words",
        due="2026-12-01T09:00:00+01:00",
        priority="high",
        tags=["work", "q4"],
        recurrence="FREQ=MONTHLY;BYDAY=1TU",
    )
    child = make_task(client, account, title="Collect numbers", parent_id=parent["id"])
    done = make_task(client, account, title="Done already", due="2026-11-20", priority="low")
    client.post(f"/api/v1/tasks/{done['id']}/complete", headers=account.headers)
    reminders = f"/api/v1/tasks/{parent['id']}/reminders"
    client.post(reminders, json={"before": "PT15M"}, headers=account.headers)
    client.post(reminders, json={"at": "2026-11-30T18:00:00Z"}, headers=account.headers)
    day_reminders = f"/api/v1/tasks/{done['id']}/reminders"
    client.post(day_reminders, json={"before": "P1D", "time": "18:00"}, headers=account.headers)

    feed = make_feed(client, account)
    text = client.get(feed_path(feed)).text
    assert "DTSTART;TZID=Europe/Berlin:20261201T090000\r\n" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" in text
    found = todos(vobject.readOne(text))
    assert set(found) == {uid(parent), uid(child), uid(done)}
    report = found[uid(parent)]
    assert report.summary.value == "Quarterly report"
    assert report.description.value == "Numbers\nand words"
    berlin = ZoneInfo("Europe/Berlin")
    assert report.dtstart.value == datetime(2026, 12, 1, 9, 0, tzinfo=berlin)
    assert report.dtstart.value.utcoffset() == timedelta(hours=1)
    assert report.due.value == report.dtstart.value
    assert report.priority.value == "1"
    assert sorted(report.categories.value) == ["q4", "work"]
    assert report.status.value == "NEEDS-ACTION"
    assert report.rrule.value == "FREQ=MONTHLY;BYDAY=1TU"
    alarms = report.contents["valarm"]
    assert [a.action.value for a in alarms] == ["DISPLAY", "DISPLAY"]
    assert alarms[0].trigger.value == timedelta(minutes=-15)
    assert alarms[1].trigger.value == datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert found[uid(child)].contents["related-to"][0].value == uid(parent)
    assert "due" not in found[uid(child)].contents
    closed = found[uid(done)]
    assert closed.status.value == "COMPLETED"
    assert closed.completed.value.tzinfo is not None
    assert closed.due.value == date(2026, 11, 20)
    assert closed.priority.value == "9"
    # P1D before an all-day due, counted from 18:00: six hours before the day starts.
    assert closed.valarm.trigger.value == timedelta(hours=-6)


def test_events_one_per_dated_task(client: TestClient) -> None:
    account = make_account(client)
    timed = make_task(client, account, title="Call", due="2026-12-02T15:30:00Z")
    all_day = make_task(client, account, title="Holiday", due="2026-12-24")
    someday = make_task(client, account, title="Someday")
    feed = make_feed(client, account, flavour="events")
    found = events(read_feed(client, feed))
    assert set(found) == {f"{timed['id']}-due@tasks-api", f"{all_day['id']}-due@tasks-api"}
    call = found[f"{timed['id']}-due@tasks-api"]
    assert call.dtstart.value == datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    holiday = found[f"{all_day['id']}-due@tasks-api"]
    assert holiday.dtstart.value == date(2026, 12, 24)
    assert holiday.dtend.value == date(2026, 12, 25)
    # The same feed as VTODOs on request: every task, the undated one too.
    as_todos = todos(read_feed(client, feed, **{"as": "todo"}))
    assert set(as_todos) == {uid(timed), uid(all_day), uid(someday)}
    assert "vevent" not in read_feed(client, feed, **{"as": "todo"}).contents
    assert_problem(client.get(feed_path(feed), params={"as": "vjournal"}), 422)
