"""A change feed client for tests: pull pages, keep a replica, compare with the server.

Works with any httpx-style client (FastAPI's TestClient, an httpx2.Client on a live server).
"""

from typing import Any

FEED = "/api/v1/changes"


def pull(client: Any, account: Any, since: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """Every page from `since` until has_more is false; returns the pages."""
    pages = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        response = client.get(FEED, params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        since = page["cursor"]
        if not page["has_more"]:
            return pages


class Replica:
    """What a client keeps: every object by (kind, id), from a snapshot and the changes."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.cursor: str | None = None

    def apply(self, page: dict[str, Any]) -> None:
        if page["reset"]:
            self.objects.clear()
        for entry in page["changes"]:
            key = (entry["kind"], entry["id"])
            if entry["type"] == "tombstone":
                self.objects.pop(key, None)
            else:
                self.objects[key] = entry["data"]
        self.cursor = page["cursor"]

    def sync(self, client: Any, account: Any) -> list[dict[str, Any]]:
        """Pull until has_more is false. After a snapshot, go on with the changes made while
        it was read: on PostgreSQL that is every change of a transaction still open when the
        snapshot began, which in these tests (one transaction per test) is all of them."""
        snapshot = self.cursor is None
        pages = pull(client, account, self.cursor)
        for page in pages:
            self.apply(page)
        if snapshot:
            return self.sync(client, account)
        return [entry for page in pages for entry in page["changes"]]


def server_state(client: Any, account: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every live task, list and tag as the other routes show them (feed fields only)."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tasks", params=params, headers=account.headers).json()
        for task in page["items"]:
            state[("task", task["id"])] = task
        cursor = page["next_cursor"]
        if cursor is None:
            break
    for item in client.get("/api/v1/lists", headers=account.headers).json():
        kept = {k: v for k, v in item.items() if k not in ("open_tasks", "total_tasks")}
        state[("list", item["id"])] = kept
    for tag in client.get("/api/v1/tags", headers=account.headers).json():
        state[("tag", tag["id"])] = {k: tag[k] for k in ("id", "name", "created_at", "version")}
    return state
