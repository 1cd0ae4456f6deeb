"""Calendar feeds (issue 20): managing the secret URLs, and what a feed URL serves.

Every feed read here is parsed with vobject, a second iCalendar implementation, not with the
`icalendar` library that wrote it.
"""

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import vobject
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
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


def test_etag_and_if_none_match(client: TestClient) -> None:
    account = make_account(client)
    task = make_task(client, account, title="Water plants", due="2026-12-03")
    path = feed_path(make_feed(client, account))
    first = client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert client.get(path).headers["etag"] == etag  # the same tasks, the same bytes
    unchanged = client.get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Water"}, headers=account.headers)
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "SUMMARY:Water\r\n" in changed.text
    # A reminder changes the feed too (a VALARM), though not the task's own fields.
    reminders = f"/api/v1/tasks/{task['id']}/reminders"
    client.post(reminders, json={"before": "PT1H"}, headers=account.headers)
    again = client.get(path, headers={"If-None-Match": changed.headers["etag"]})
    assert again.status_code == 200
    assert "BEGIN:VALARM" in again.text
    # The tag is computed without rendering (services.calendar_feeds.content_version): it must
    # still move with every input of the body. A reminder edited in place:
    [reminder] = client.get(reminders, headers=account.headers).json()
    client.put(f"{reminders}/{reminder['id']}", json={"before": "PT2H"}, headers=account.headers)
    edited = client.get(path, headers={"If-None-Match": again.headers["etag"]})
    assert edited.status_code == 200
    triggers = [
        [line for line in body.text.splitlines() if line.startswith("TRIGGER")]
        for body in (again, edited)
    ]
    assert triggers[0] != triggers[1], triggers
    # Another user's writes leave it alone.
    make_task(client, make_account(client), title="Someone else's", due="2026-12-03")
    assert client.get(path, headers={"If-None-Match": edited.headers["etag"]}).status_code == 304
    # The list archived (a list write, not a task write) takes its tasks out.
    inbox = client.get("/api/v1/lists", headers=account.headers).json()[0]
    work = client.post("/api/v1/lists", json={"name": "Work"}, headers=account.headers).json()
    client.post(
        f"/api/v1/tasks/{task['id']}/move", json={"list_id": work["id"]}, headers=account.headers
    )
    moved = client.get(path, headers={"If-None-Match": edited.headers["etag"]})
    assert moved.status_code == 200
    client.patch(f"/api/v1/lists/{work['id']}", json={"archived": True}, headers=account.headers)
    archived = client.get(path, headers={"If-None-Match": moved.headers["etag"]})
    assert archived.status_code == 200
    assert "Water" not in archived.text
    assert inbox["inbox"] is True


def test_filters_by_list_and_tag(client: TestClient) -> None:
    account = make_account(client)
    work = client.post("/api/v1/lists", json={"name": "Work"}, headers=account.headers).json()
    home = client.post("/api/v1/lists", json={"name": "Home"}, headers=account.headers).json()
    in_work = make_task(client, account, title="Deploy", list_id=work["id"])
    in_home = make_task(client, account, title="Dishes", list_id=home["id"], tags=["Urgent"])
    inbox = make_task(client, account, title="Inbox thing", tags=["later"])
    everything = make_feed(client, account)
    assert set(todos(read_feed(client, everything))) == {uid(in_work), uid(in_home), uid(inbox)}
    by_list = make_feed(client, account, list_ids=[work["id"]])
    assert by_list["list_ids"] == [work["id"]]
    assert set(todos(read_feed(client, by_list))) == {uid(in_work)}
    by_tag = make_feed(client, account, tags=["urgent", "LATER"])
    assert set(todos(read_feed(client, by_tag))) == {uid(in_home), uid(inbox)}
    both = make_feed(client, account, list_ids=[work["id"], home["id"]], tags=["urgent"])
    assert set(todos(read_feed(client, both))) == {uid(in_home)}


def test_trashed_tasks_archived_lists_and_other_users_stay_out(client: TestClient) -> None:
    alice, bob = make_account(client), make_account(client)
    old = client.post("/api/v1/lists", json={"name": "Old"}, headers=alice.headers).json()
    kept = make_task(client, alice, title="Kept", due="2026-12-05")
    trashed = make_task(client, alice, title="Trashed", due="2026-12-05")
    archived = make_task(client, alice, title="Archived", due="2026-12-05", list_id=old["id"])
    make_task(client, bob, title="Bob's", due="2026-12-05")
    assert client.delete(f"/api/v1/tasks/{trashed['id']}", headers=alice.headers).is_success
    archiving = client.patch(
        f"/api/v1/lists/{old['id']}", json={"archived": True}, headers=alice.headers
    )
    assert archiving.status_code == 200, archiving.text
    for feed in (
        make_feed(client, alice),
        make_feed(client, alice, flavour="events"),
        make_feed(client, alice, list_ids=[old["id"]]),
    ):
        calendar = read_feed(client, feed)
        names = {
            c.summary.value for name in ("vtodo", "vevent") for c in calendar.contents.get(name, [])
        }
        assert names <= {"Kept"}
    assert uid(kept) in todos(read_feed(client, make_feed(client, alice)))
    assert uid(archived) not in todos(read_feed(client, make_feed(client, alice)))
    restored = client.post(f"/api/v1/trash/{trashed['id']}/restore", headers=alice.headers)
    assert restored.status_code == 200, restored.text
    assert uid(trashed) in todos(read_feed(client, make_feed(client, alice)))


HOSTILE_TITLES = [
    "Line one\nline two\r\nline three",
    "Commas, semicolons; colons: and \\backslashes\\",
    "Quotes \"double\" and 'single'",
    "BEGIN:VEVENT",
    "END:VCALENDAR",
    "Ünïcödé 🎉 " + "字" * 120,
    "x" * 255,
    "\tTabbed\tout",
]


def _text(value: str) -> str:
    # iCalendar TEXT has one line break, `\n`: a CRLF in a title arrives as LF.
    return value.replace("\r\n", "\n")


def test_hostile_titles_round_trip(client: TestClient) -> None:
    account = make_account(client)
    made: dict[str, tuple[str, str]] = {}
    for title in HOSTILE_TITLES:
        task = make_task(
            client,
            account,
            title=title,
            description=title * 3,
            tags=["a,b", "c;d"],
            due="2026-12-06",
        )
        made[uid(task)] = (_text(task["title"]), _text(task["description"]))
    name = 'My "calendar", with; everything\nand more'
    feed = make_feed(client, account, name=name)
    response = client.get(feed_path(feed))
    # Folded at 75 octets (RFC 5545, 3.1), never inside a UTF-8 sequence.
    assert all(len(line.encode()) <= 75 for line in response.text.split("\r\n"))
    calendar = vobject.readOne(response.text)
    assert calendar.contents["x-wr-calname"][0].value == name
    found = todos(calendar)
    assert {key: (c.summary.value, c.description.value) for key, c in found.items()} == made
    for component in found.values():
        assert sorted(component.categories.value) == ["a,b", "c;d"]
    as_events = events(read_feed(client, feed, **{"as": "events"}))
    assert sorted(c.summary.value for c in as_events.values()) == sorted(
        t for t, _ in made.values()
    )


def test_a_feed_is_rate_limited_on_its_own(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_enabled=True, rate_limit_per_calendar_feed="3/minute")
    account = make_account(client)
    limited, other = make_feed(client, account), make_feed(client, account)
    for _ in range(3):
        assert client.get(feed_path(limited)).status_code == 200
    refused = assert_problem(client.get(feed_path(limited)), 429)
    assert refused["status"] == 429
    assert client.get(feed_path(other)).status_code == 200


def test_the_token_stays_out_of_the_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    account = make_account(client)
    path = feed_path(make_feed(client, account))
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    with caplog.at_level(logging.INFO, logger="app.access"):
        assert client.get(path).status_code == 200
        assert client.get("/calendar/tcf_unknown.ics").status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "app.access"]
    assert len(lines) == 2
    assert all("/calendar/{token}.ics" in line for line in lines)
    assert token not in caplog.text


def test_a_due_on_the_second_of_a_repeated_wall_time_keeps_its_moment(
    client: TestClient,
) -> None:
    account = make_account(client)
    client.patch("/api/v1/users/me", json={"timezone": "Europe/Berlin"}, headers=account.headers)
    # 02:30 happens twice on 25 October 2026 in Berlin; this is the second (01:30 UTC), which
    # a TZID value cannot name: it is written in UTC.
    second = make_task(client, account, title="Second", due="2026-10-25T02:30:00+01:00")
    first = make_task(client, account, title="First", due="2026-10-25T02:30:00+02:00")
    found = todos(read_feed(client, make_feed(client, account)))
    assert found[uid(second)].due.value == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert found[uid(second)].dtstart.value == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert found[uid(first)].due.value.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
