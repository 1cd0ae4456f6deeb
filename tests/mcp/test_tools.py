"""The MCP tools and resources, driven by the SDK's client over HTTP against a live server,
on SQLite and on PostgreSQL: every tool, isolation between users, errors as tool errors."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from mcp import MCPError

from tests.event_loop import run_async
from tests.factories import Account
from tests.live import LiveServer
from tests.mcp.conftest import connect, new_account, structured

TOOLS = {
    "add_task",
    "list_tasks",
    "get_task",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "search_tasks",
    "list_tags",
    "task_stats",
    "list_lists",
    "add_list",
    "move_task",
    "add_reminder",
    "list_reminders",
    "upcoming_reminders",
}


def run(main: Any) -> Any:
    return run_async(main)


def test_list_tools_has_typed_schemas_and_one_line_descriptions(
    mcp_server: LiveServer, account: Account
) -> None:
    async def main() -> Any:
        async with connect(mcp_server, account.access_token) as client:
            return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(main)}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description
        assert "\n" not in tool.description
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
    add = tools["add_task"].input_schema
    assert add["required"] == ["title"]
    assert add["additionalProperties"] is False
    assert {"title", "description", "priority", "due", "tags", "completed"} <= set(
        add["properties"]
    )
    listing = tools["list_tasks"].input_schema["properties"]
    for name in ("completed", "priority", "tag", "due_before", "due_after", "overdue", "q"):
        assert name in listing
    assert {"sort", "limit", "cursor"} <= set(listing)
    assert tools["search_tasks"].input_schema["required"] == ["q"]
    assert tools["update_task"].input_schema["required"] == ["task_id"]
    assert tools["delete_task"].annotations.destructive_hint is True
    assert tools["list_tasks"].annotations.read_only_hint is True


def test_every_tool_manages_the_callers_tasks(mcp_server: LiveServer, account: Account) -> None:
    async def main() -> None:
        async with connect(mcp_server, account.access_token) as client:
            created = structured(
                await client.call_tool(
                    "add_task",
                    {
                        "title": "  Send the invoice ",
                        "priority": "high",
                        "due": "2020-01-02",
                        "tags": ["work", "Billing"],
                    },
                )
            )
            assert created["title"] == "Send the invoice"  # the REST rules: trimmed
            assert created["priority"] == "high"
            assert created["due"] == "2020-01-02"
            assert created["tags"] == ["Billing", "work"]
            task_id = created["id"]
            other = structured(await client.call_tool("add_task", {"title": "Water the plants"}))

            got = structured(await client.call_tool("get_task", {"task_id": task_id}))
            assert got == created

            page = structured(await client.call_tool("list_tasks", {"sort": "title"}))
            assert [item["id"] for item in page["items"]] == [task_id, other["id"]]
            assert page["next_cursor"] is None
            first = structured(await client.call_tool("list_tasks", {"limit": 1, "sort": "title"}))
            assert first["items"][0]["id"] == task_id
            assert first["next_cursor"]
            rest = structured(
                await client.call_tool(
                    "list_tasks", {"limit": 1, "sort": "title", "cursor": first["next_cursor"]}
                )
            )
            assert [item["id"] for item in rest["items"]] == [other["id"]]
            filtered = structured(
                await client.call_tool(
                    "list_tasks", {"priority": ["high"], "tag": ["WORK"], "overdue": True}
                )
            )
            assert [item["id"] for item in filtered["items"]] == [task_id]
            due = structured(
                await client.call_tool(
                    "list_tasks", {"due_after": "2020-01-01", "due_before": "2020-01-03"}
                )
            )
            assert [item["id"] for item in due["items"]] == [task_id]

            found = structured(await client.call_tool("search_tasks", {"q": "invoice"}))
            assert [item["id"] for item in found["items"]] == [task_id]

            updated = structured(
                await client.call_tool(
                    "update_task",
                    {"task_id": task_id, "title": "Send the final invoice", "description": "PDF"},
                )
            )
            assert updated["title"] == "Send the final invoice"
            assert updated["description"] == "PDF"
            assert updated["tags"] == created["tags"]
            cleared = structured(
                await client.call_tool("update_task", {"task_id": task_id, "description": None})
            )
            assert cleared["description"] is None
            assert cleared["title"] == updated["title"]

            done = structured(await client.call_tool("complete_task", {"task_id": task_id}))
            assert done["completed"] is True
            assert done["completed_at"]
            again = structured(await client.call_tool("complete_task", {"task_id": task_id}))
            assert again["completed_at"] == done["completed_at"]
            reopened = structured(await client.call_tool("reopen_task", {"task_id": task_id}))
            assert reopened["completed"] is False
            assert reopened["completed_at"] is None

            tags = structured(await client.call_tool("list_tags", {}))
            assert [(t["name"], t["open_tasks"]) for t in tags["tags"]] == [
                ("Billing", 1),
                ("work", 1),
            ]
            stats = structured(await client.call_tool("task_stats", {}))
            assert stats["total"] == 2
            assert stats["open"] == 2
            assert stats["overdue"] == 1
            assert stats["by_priority"]["high"] == {"open": 1, "total": 1}

            deleted = structured(await client.call_tool("delete_task", {"task_id": task_id}))
            assert deleted == {"id": task_id, "deleted": True}
            gone = await client.call_tool("get_task", {"task_id": task_id})
            assert gone.is_error
            assert gone.structured_content["status"] == 404

    run(main)


def test_lists_subtasks_recurrence_and_the_trash_through_the_tools(
    mcp_server: LiveServer, account: Account
) -> None:
    """What landed with lists (issue 16) and recurrence (issue 19) works through the same
    tools: a task goes in a list and under a parent, a recurring task moves on when completed,
    and delete_task moves to the trash as DELETE does."""

    async def main() -> None:
        async with connect(mcp_server, account.access_token) as client:
            work = structured(await client.call_tool("add_list", {"name": "Work"}))
            assert work["inbox"] is False
            lists = structured(await client.call_tool("list_lists", {}))
            assert [(x["name"], x["inbox"]) for x in lists["lists"]] == [
                ("Inbox", True),
                ("Work", False),
            ]
            duplicate = await client.call_tool("add_list", {"name": "work"})
            assert duplicate.is_error
            assert duplicate.structured_content["status"] == 409
            parent = structured(
                await client.call_tool("add_task", {"title": "Report", "list_id": work["id"]})
            )
            child = structured(
                await client.call_tool("add_task", {"title": "Charts", "parent_id": parent["id"]})
            )
            assert child["list_id"] == work["id"]
            assert child["parent_id"] == parent["id"]
            monthly = structured(
                await client.call_tool(
                    "add_task",
                    {"title": "Rent", "due": "2026-12-01", "recurrence": "FREQ=MONTHLY"},
                )
            )
            advanced = structured(
                await client.call_tool("complete_task", {"task_id": monthly["id"]})
            )
            assert advanced["completed"] is False
            assert advanced["due"] == "2027-01-01"
            trashed = structured(await client.call_tool("delete_task", {"task_id": parent["id"]}))
            assert trashed == {"id": parent["id"], "deleted": True}
            for task in (parent, child):
                gone = await client.call_tool("get_task", {"task_id": task["id"]})
                assert gone.structured_content["status"] == 404
            counts = structured(await client.call_tool("list_lists", {}))
            assert [x["total_tasks"] for x in counts["lists"]] == [1, 0]
            # The manual order: first, second, then the second moved before the first.
            first = structured(await client.call_tool("add_task", {"title": "First"}))
            second = structured(await client.call_tool("add_task", {"title": "Second"}))
            moved = structured(
                await client.call_tool(
                    "move_task", {"task_id": second["id"], "before": first["id"]}
                )
            )
            assert moved["position"] < first["position"]
            ordered = structured(
                await client.call_tool("list_tasks", {"sort": "position", "parent": "none"})
            )
            # (Rent, made earlier, stays first.)
            assert [t["title"] for t in ordered["items"]] == ["Rent", "Second", "First"]
            astray = await client.call_tool(
                "move_task", {"task_id": second["id"], "after": str(uuid.uuid4())}
            )
            assert astray.is_error
            assert astray.structured_content["status"] == 422

    run(main)


def test_reminders_through_the_tools(mcp_server: LiveServer, account: Account) -> None:
    """Reminders (issue 19) as REST has them: at a moment or before the due, listed per task
    and upcoming across tasks; a bad duration is a 422 naming `before`."""
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)

    async def main() -> None:
        async with connect(mcp_server, account.access_token) as client:
            task = structured(
                await client.call_tool(
                    "add_task", {"title": "Call the bank", "due": soon.isoformat()}
                )
            )
            at = structured(
                await client.call_tool(
                    "add_reminder", {"task_id": task["id"], "at": soon.isoformat()}
                )
            )
            before = structured(
                await client.call_tool("add_reminder", {"task_id": task["id"], "before": "PT30M"})
            )
            assert before["fire_at"] == (soon - timedelta(minutes=30)).isoformat().replace(
                "+00:00", "Z"
            )
            listed = structured(await client.call_tool("list_reminders", {"task_id": task["id"]}))
            assert [r["id"] for r in listed["reminders"]] == [at["id"], before["id"]]
            upcoming = structured(await client.call_tool("upcoming_reminders", {}))
            assert [r["id"] for r in upcoming["reminders"]] == [before["id"], at["id"]]
            assert upcoming["reminders"][0]["task_title"] == "Call the bank"
            bad = await client.call_tool("add_reminder", {"task_id": task["id"], "before": "soon"})
            assert bad.is_error
            assert bad.structured_content["status"] == 422

    run(main)


def test_the_handshake_era_protocol_works_too(mcp_server: LiveServer, account: Account) -> None:
    async def main() -> tuple[Any, Any]:
        async with connect(mcp_server, account.access_token, mode="legacy") as client:
            tools = (await client.list_tools()).tools
            return tools, await client.call_tool("add_task", {"title": "Over 2025-11-25"})

    tools, added = run(main)
    assert {tool.name for tool in tools} == TOOLS
    assert structured(added)["title"] == "Over 2025-11-25"


def test_text_content_is_the_structured_result_as_json(
    mcp_server: LiveServer, account: Account
) -> None:
    async def main() -> Any:
        async with connect(mcp_server, account.access_token) as client:
            return await client.call_tool("add_task", {"title": "Readable"})

    result = run(main)
    assert json.loads(result.content[0].text) == result.structured_content


def test_resources_today_and_overdue(mcp_server: LiveServer, account: Account) -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with connect(mcp_server, account.access_token) as client:
            late = structured(
                await client.call_tool("add_task", {"title": "Late", "due": "2020-05-01"})
            )
            listed = (await client.list_resources()).resources
            overdue = await client.read_resource("tasks://overdue")
            today = await client.read_resource("tasks://today")
            return late, listed, (overdue, today)

    late, listed, (overdue, today) = run(main)
    assert {str(resource.uri) for resource in listed} == {"tasks://today", "tasks://overdue"}
    overdue_items = json.loads(overdue.contents[0].text)["items"]
    assert [item["id"] for item in overdue_items] == [late["id"]]
    assert overdue.contents[0].mime_type == "application/json"
    assert json.loads(today.contents[0].text) == {"items": []}


def test_resource_today_lists_what_is_due_today(mcp_server: LiveServer, account: Account) -> None:
    # The account's time zone is UTC (the default): today is the UTC date.
    now = datetime.now(UTC)
    soon = (now + timedelta(minutes=1)).replace(microsecond=0)
    if soon.date() != now.date():  # a minute to midnight: the test would straddle two days
        soon = now.replace(microsecond=0)

    async def main() -> tuple[Any, Any]:
        async with connect(mcp_server, account.access_token) as client:
            task = structured(
                await client.call_tool(
                    "add_task", {"title": "Today", "due": soon.isoformat().replace("+00:00", "Z")}
                )
            )
            return task, await client.read_resource("tasks://today")

    task, today = run(main)
    assert [item["id"] for item in json.loads(today.contents[0].text)["items"]] == [task["id"]]


def test_user_b_never_sees_or_changes_user_as_tasks(mcp_server: LiveServer) -> None:
    alice, bob = new_account(mcp_server), new_account(mcp_server)

    async def main() -> None:
        async with connect(mcp_server, alice.access_token) as client:
            task = structured(await client.call_tool("add_task", {"title": "Alice's secret"}))
        async with connect(mcp_server, bob.access_token) as client:
            assert structured(await client.call_tool("list_tasks", {}))["items"] == []
            found = structured(await client.call_tool("search_tasks", {"q": "secret"}))
            assert found["items"] == []
            assert structured(await client.call_tool("task_stats", {}))["total"] == 0
            assert structured(await client.call_tool("list_tags", {}))["tags"] == []
            for name, extra in [
                ("get_task", {}),
                ("update_task", {"title": "Bob was here"}),
                ("complete_task", {}),
                ("reopen_task", {}),
                ("delete_task", {}),
            ]:
                result = await client.call_tool(name, {"task_id": task["id"], **extra})
                assert result.is_error, name
                # Exactly what a missing task gets: no hint that it exists.
                assert result.structured_content == {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Task not found.",
                }
            for uri in ("tasks://today", "tasks://overdue"):
                assert json.loads((await client.read_resource(uri)).contents[0].text) == {
                    "items": []
                }
        async with connect(mcp_server, alice.access_token) as client:
            still = structured(await client.call_tool("get_task", {"task_id": task["id"]}))
            assert still == task

    run(main)


def test_a_missing_or_malformed_id_is_not_found(mcp_server: LiveServer, account: Account) -> None:
    async def main() -> list[Any]:
        async with connect(mcp_server, account.access_token) as client:
            return [
                await client.call_tool("get_task", {"task_id": str(uuid.uuid4())}),
                await client.call_tool("delete_task", {"task_id": "not-an-id"}),
            ]

    for result in run(main):
        assert result.is_error
        assert result.structured_content["status"] == 404
        assert result.content[0].text == "Not Found (404): Task not found."


def test_invalid_arguments_are_a_tool_error_naming_the_field(
    mcp_server: LiveServer, account: Account
) -> None:
    async def main() -> dict[str, Any]:
        async with connect(mcp_server, account.access_token) as client:
            return {
                "blank title": await client.call_tool("add_task", {"title": "   "}),
                "bad priority": await client.call_tool(
                    "add_task", {"title": "x", "priority": "urgent"}
                ),
                "unknown field": await client.call_tool("add_task", {"title": "x", "colour": 1}),
                "bad limit": await client.call_tool("list_tasks", {"limit": 1000}),
                "unknown filter": await client.call_tool("list_tasks", {"done": True}),
                "no q": await client.call_tool("search_tasks", {}),
                "null title": await client.call_tool(
                    "update_task", {"task_id": str(uuid.uuid4()), "title": None}
                ),
                "no id": await client.call_tool("get_task", {}),
                "bad cursor": await client.call_tool("list_tasks", {"cursor": "abc"}),
            }

    results = run(main)
    expected_field = {
        "blank title": "title",
        "bad priority": "priority",
        "unknown field": "colour",
        "bad limit": "limit",
        "unknown filter": "done",
        "no q": "q",
        "null title": "title",
        "no id": "task_id",
    }
    for case, field in expected_field.items():
        result = results[case]
        assert result.is_error, case
        problem = result.structured_content
        assert problem["status"] == 422, case
        assert problem["type"] == "/problems/validation-error"
        assert [error["loc"] for error in problem["errors"]] == [[field]], case
        assert field in result.content[0].text
        assert "Traceback" not in result.content[0].text
    cursor = results["bad cursor"].structured_content
    assert cursor["status"] == 400
    assert cursor["type"] == "/problems/invalid-cursor"


def test_an_unknown_tool_is_a_protocol_error(mcp_server: LiveServer, account: Account) -> None:
    async def main() -> None:
        async with connect(mcp_server, account.access_token) as client:
            with pytest.raises(MCPError, match="Unknown tool"):
                await client.call_tool("drop_database", {})

    run(main)


def test_tool_calls_are_counted_by_tool_and_outcome(
    mcp_server: LiveServer, account: Account
) -> None:
    def count(tool: str, outcome: str) -> float:
        text = httpx2.get(mcp_server.url("/metrics")).text
        sample = f'tasks_api_mcp_tool_calls_total{{outcome="{outcome}",tool="{tool}"}} '
        lines = [line for line in text.splitlines() if line.startswith(sample)]
        return float(lines[0].split()[-1]) if lines else 0.0

    ok_before, missing_before = count("get_task", "ok"), count("get_task", "404")

    async def main() -> None:
        async with connect(mcp_server, account.access_token) as client:
            task = structured(await client.call_tool("add_task", {"title": "Counted"}))
            structured(await client.call_tool("get_task", {"task_id": task["id"]}))
            await client.call_tool("get_task", {"task_id": str(uuid.uuid4())})

    run(main)
    assert count("get_task", "ok") == ok_before + 1
    assert count("get_task", "404") == missing_before + 1
