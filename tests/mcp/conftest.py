"""A live `tasks-api serve` per database for the MCP tests, and an MCP client on it: the SDK's
own client over real HTTP on loopback (or stdio), as an assistant would connect."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app import migrate
from tests.conftest import BACKENDS, ThrowawayPostgres
from tests.factories import Account, make_account
from tests.live import LiveServer, start_server

T = TypeVar("T")

# Many accounts from one address within a minute: the login and register limits go up; the
# per-user limit stays as configured (tests/mcp/test_limits.py has its own server).
SERVER_ENV = {
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "1000/minute",
    "RATE_LIMIT_LOGIN_PER_ADDRESS": "1000/minute",
    "RATE_LIMIT_REGISTER_PER_ADDRESS": "1000/hour",
}


@pytest.fixture(scope="session", params=BACKENDS)
def mcp_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One real server per database, shared by the MCP tests (each makes its own accounts)."""
    database_url = None
    if request.param == "postgresql":
        postgres: ThrowawayPostgres = request.getfixturevalue("throwaway_postgres")
        database_url = postgres.create()
        migrate.upgrade(database_url)
    with start_server(
        tmp_path_factory.mktemp(f"mcp-{request.param}"), database_url=database_url, env=SERVER_ENV
    ) as server:
        yield server


def new_account(server: LiveServer) -> Account:
    with httpx2.Client(base_url=server.base_url) as http:
        return make_account(http)  # type: ignore[arg-type]


@pytest.fixture
def account(mcp_server: LiveServer) -> Account:
    return new_account(mcp_server)


@asynccontextmanager
async def connect(server: LiveServer, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's client on the server's /mcp, sending the bearer token. `mode="auto"`
    negotiates the newest protocol (2026-07-28); `"legacy"` the initialize handshake."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(server.url("/mcp"), http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


def structured(result: Any) -> Any:
    """A successful tool result's structured content (fails with its text otherwise)."""
    assert not result.is_error, result.content
    return result.structured_content
