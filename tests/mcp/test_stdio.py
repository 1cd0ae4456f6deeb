"""`tasks-api mcp --stdio`, driven by the SDK's stdio client, on SQLite and PostgreSQL: the
same tools for the account whose token is in TASKS_API_TOKEN."""

from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters

from tests.event_loop import run_async
from tests.live import TASKS_API, LiveServer, run_cli
from tests.mcp.conftest import new_account, structured


def stdio_parameters(server: LiveServer, token: str) -> StdioServerParameters:
    # The live server's environment: the same database and secret key, so its tokens verify.
    env = {**server.env, "TASKS_API_TOKEN": token}
    return StdioServerParameters(
        command=str(TASKS_API), args=["mcp", "--stdio"], env=env, cwd=server.log_path.parent
    )


def test_stdio_serves_the_tools_for_the_tokens_account(mcp_server: LiveServer) -> None:
    alice, bob = new_account(mcp_server), new_account(mcp_server)

    async def main() -> tuple[Any, Any, Any]:
        async with Client(stdio_parameters(mcp_server, alice.access_token)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            task = structured(await client.call_tool("add_task", {"title": "From stdio"}))
            done = structured(await client.call_tool("complete_task", {"task_id": task["id"]}))
            assert done["completed"] is True
        async with Client(stdio_parameters(mcp_server, bob.access_token)) as client:
            hidden = await client.call_tool("get_task", {"task_id": task["id"]})
            listed = structured(await client.call_tool("list_tasks", {}))
        return names, (task, hidden), listed

    names, (task, hidden), listed = run_async(main)
    assert {"add_task", "list_tasks", "complete_task"} <= names
    assert hidden.is_error
    assert hidden.structured_content["status"] == 404
    assert listed["items"] == []
    # What stdio wrote is what REST reads.
    rest = httpx2.get(
        mcp_server.url(f"/api/v1/tasks/{task['id']}"),
        headers={"Authorization": f"Bearer {alice.access_token}"},
    )
    assert rest.status_code == 200
    assert rest.json()["completed"] is True


def test_stdio_refuses_to_start_without_a_valid_token(mcp_server: LiveServer) -> None:
    cwd = mcp_server.log_path.parent
    missing = run_cli("mcp", "--stdio", env=mcp_server.env, cwd=cwd)
    assert missing.returncode == 1
    assert "TASKS_API_TOKEN" in missing.stderr
    refused = run_cli(
        "mcp", "--stdio", env={**mcp_server.env, "TASKS_API_TOKEN": "forged"}, cwd=cwd
    )
    assert refused.returncode == 1
    assert "TASKS_API_TOKEN was refused" in refused.stderr
    assert refused.stdout == ""  # stdout is the protocol's: nothing else goes there


def test_stdio_stops_acting_once_the_token_is_revoked(mcp_server: LiveServer) -> None:
    account = new_account(mcp_server)
    headers = {"Authorization": f"Bearer {account.access_token}"}

    async def main() -> tuple[Any, Any]:
        async with Client(stdio_parameters(mcp_server, account.access_token)) as client:
            before = await client.call_tool("list_tasks", {})
            revoked = httpx2.post(mcp_server.url("/api/v1/auth/logout-all"), headers=headers)
            assert revoked.status_code == 204
            # The stdio process hears of the change by re-reading the account: at once after
            # its cache entry ends (at most 1 s without notifications); bounded polling.
            after = None
            with anyio.move_on_after(15):
                while True:
                    after = await client.call_tool("list_tasks", {})
                    if after.is_error:
                        break
                    await anyio.sleep(0.2)
            return before, after

    before, after = run_async(main)
    structured(before)
    assert after is not None
    assert after.is_error
    assert after.structured_content["status"] == 401
    assert after.structured_content["type"] == "/problems/invalid-token"
