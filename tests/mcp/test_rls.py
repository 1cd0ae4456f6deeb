"""The MCP tools under PostgreSQL row-level security: a real `tasks-api serve` connected as an
ordinary role (policies apply to it, unlike to the superuser the other tests use), so a tool
whose session were not bound to its caller would see no rows and could write none."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.event_loop import run_async
from tests.live import LiveServer, start_server
from tests.mcp.conftest import SERVER_ENV, connect, new_account, structured
from tests.test_rls import RlsDatabase, rls_database  # noqa: F401 - the fixture


@pytest.fixture
def rls_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    database: RlsDatabase = request.getfixturevalue("rls_database")
    with start_server(
        tmp_path_factory.mktemp("mcp-rls"), database_url=database.app_url, env=SERVER_ENV
    ) as server:
        yield server


def test_every_tool_works_under_row_level_security(rls_server: LiveServer) -> None:
    alice, bob = new_account(rls_server), new_account(rls_server)

    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with connect(rls_server, alice.access_token) as client:
            task = structured(
                await client.call_tool(
                    "add_task", {"title": "Under RLS", "due": "2020-01-01", "tags": ["rls"]}
                )
            )
            task_id = task["id"]
            seen["list"] = structured(await client.call_tool("list_tasks", {}))
            seen["search"] = structured(await client.call_tool("search_tasks", {"q": "rls"}))
            seen["get"] = structured(await client.call_tool("get_task", {"task_id": task_id}))
            seen["update"] = structured(
                await client.call_tool("update_task", {"task_id": task_id, "tags": ["a", "b"]})
            )
            seen["complete"] = structured(
                await client.call_tool("complete_task", {"task_id": task_id})
            )
            seen["reopen"] = structured(await client.call_tool("reopen_task", {"task_id": task_id}))
            seen["tags"] = structured(await client.call_tool("list_tags", {}))
            seen["stats"] = structured(await client.call_tool("task_stats", {}))
            overdue = await client.read_resource("tasks://overdue")
            seen["overdue"] = json.loads(overdue.contents[0].text)
            today = await client.read_resource("tasks://today")
            seen["today"] = json.loads(today.contents[0].text)
        async with connect(rls_server, bob.access_token) as client:
            seen["bob"] = await client.call_tool("get_task", {"task_id": task_id})
        async with connect(rls_server, alice.access_token) as client:
            seen["delete"] = structured(await client.call_tool("delete_task", {"task_id": task_id}))
        seen["id"] = task_id
        return seen

    seen = run_async(main)
    task_id = seen["id"]
    assert [item["id"] for item in seen["list"]["items"]] == [task_id]
    assert [item["id"] for item in seen["search"]["items"]] == [task_id]
    assert seen["get"]["tags"] == ["rls"]
    assert seen["update"]["tags"] == ["a", "b"]
    assert seen["complete"]["completed"] is True
    assert seen["reopen"]["completed"] is False
    assert {tag["name"] for tag in seen["tags"]["tags"]} == {"rls", "a", "b"}
    assert seen["stats"]["total"] == 1
    assert [item["id"] for item in seen["overdue"]["items"]] == [task_id]
    assert seen["today"] == {"items": []}
    assert seen["bob"].structured_content["status"] == 404
    assert seen["delete"]["deleted"] is True
