"""Add a task and list the open ones through the Tasks API's MCP server, with the official
MCP Python SDK (`pip install "mcp>=2.3"`).

    TASKS_API_URL=http://127.0.0.1:8000 TASKS_API_TOKEN=... python mcp_client.py
"""

import asyncio
import os

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

URL = os.environ.get("TASKS_API_URL", "http://127.0.0.1:8000") + "/mcp"
TOKEN = os.environ["TASKS_API_TOKEN"]


async def main() -> None:
    # The same bearer token as the REST API, on every request.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(URL, http_client=http)) as client,
    ):
        added = await client.call_tool(
            "add_task", {"title": "Call the plumber", "priority": "high", "due": "2030-01-15"}
        )
        print("added", added.structured_content["id"])

        page = await client.call_tool("list_tasks", {"completed": False, "sort": "-priority,due"})
        for task in page.structured_content["items"]:
            print(f"- [{task['priority']}] {task['title']} (due {task['due']})")

        # Errors come back as tool errors with the REST problem in structured_content.
        missing = await client.call_tool("get_task", {"task_id": "no-such-task"})
        print("error:", missing.content[0].text)


asyncio.run(main())
