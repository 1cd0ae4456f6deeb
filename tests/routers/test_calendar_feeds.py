"""Calendar feeds (issue 20): managing the secret URLs, and what a feed URL serves.

Every feed read here is parsed with vobject, a second iCalendar implementation, not with the
`icalendar` library that wrote it.
"""

from typing import Any
from urllib.parse import urlsplit

import vobject
from fastapi.testclient import TestClient

from tests.factories import (
    Account,
    assert_problem,
    make_account,
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
