"""MCP calls count against the per-user rate limit together with REST requests, and the
refusal is a tool error with the REST problem's meaning (429, retry after)."""

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.event_loop import run_async
from tests.live import LiveServer, start_server
from tests.mcp.conftest import SERVER_ENV, connect, new_account, structured

PER_USER = 5


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**SERVER_ENV, "RATE_LIMIT_PER_USER": f"{PER_USER}/minute"}
    with start_server(tmp_path_factory.mktemp("mcp-limited"), env=env) as server:
        yield server


def test_mcp_calls_share_the_per_user_limit_with_rest(limited_server: LiveServer) -> None:
    account = new_account(limited_server)
    headers = {"Authorization": f"Bearer {account.access_token}"}
    for _ in range(2):
        assert httpx2.get(limited_server.url("/api/v1/tasks"), headers=headers).status_code == 200

    async def main() -> tuple[list[Any], Any]:
        async with connect(limited_server, account.access_token) as client:
            allowed = [await client.call_tool("list_tasks", {}) for _ in range(PER_USER - 2)]
            return allowed, await client.call_tool("add_task", {"title": "One too many"})

    allowed, refused = run_async(main)
    for result in allowed:
        structured(result)
    assert refused.is_error
    problem = refused.structured_content
    assert problem["status"] == 429
    assert problem["type"] == "/problems/rate-limited"
    assert 1 <= problem["retry_after"] <= 60
    assert "Retry after" in refused.content[0].text
    # REST sees the same count.
    rest = httpx2.get(limited_server.url("/api/v1/tasks"), headers=headers)
    assert rest.status_code == 429
