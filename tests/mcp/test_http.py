"""/mcp as HTTP: the bearer check and its 401 challenge, the RFC 9728 metadata, and the app's
middleware (body size, JSON depth, CORS, origins) in front of the SDK's transport."""

import json
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from app.mcp.scopes import SUPPORTED
from tests.event_loop import run_async
from tests.factories import Account
from tests.live import LiveServer
from tests.mcp.conftest import connect, new_account, structured


def run(main: Any) -> Any:
    return run_async(main)


def post_initialize(server: LiveServer, headers: dict[str, str]) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    return httpx2.post(
        server.url("/mcp"),
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
    )


def test_without_a_token_401_points_at_the_resource_metadata(mcp_server: LiveServer) -> None:
    response = post_initialize(mcp_server, {})
    assert response.status_code == 401
    metadata = f"{mcp_server.base_url}/.well-known/oauth-protected-resource/mcp"
    assert response.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{metadata}"'
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-token"


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Bearer", "Basic dXNlcjpwYXNz", "bearer x.y.z"]
)
def test_a_bad_token_gets_401_with_the_challenge(
    mcp_server: LiveServer, authorization: str
) -> None:
    response = post_initialize(mcp_server, {"Authorization": authorization})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="' in challenge


def test_the_sdk_client_with_a_bad_token_is_refused(mcp_server: LiveServer) -> None:
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async def main() -> None:
        headers = {"Authorization": "Bearer forged"}
        async with httpx2.AsyncClient(headers=headers, event_hooks={"response": [record]}) as http:
            transport = streamable_http_client(mcp_server.url("/mcp"), http_client=http)
            async with Client(transport):
                pass  # pragma: no cover - refused before this

    with pytest.raises(BaseExceptionGroup) as refused:
        run(main)
    assert refused.group_contains(MCPError)
    assert statuses
    assert set(statuses) == {401}


def test_a_revoked_token_is_refused_like_on_rest(mcp_server: LiveServer) -> None:
    account = new_account(mcp_server)
    headers = {"Authorization": f"Bearer {account.access_token}"}
    assert post_initialize(mcp_server, headers).status_code == 200
    logout = httpx2.post(mcp_server.url("/api/v1/auth/logout-all"), headers=headers)
    assert logout.status_code == 204, logout.text
    assert httpx2.get(mcp_server.url("/api/v1/users/me"), headers=headers).status_code == 401
    assert post_initialize(mcp_server, headers).status_code == 401


def test_a_deleted_account_is_refused(mcp_server: LiveServer) -> None:
    account = new_account(mcp_server)
    headers = {"Authorization": f"Bearer {account.access_token}"}
    assert post_initialize(mcp_server, headers).status_code == 200
    deleted = httpx2.delete(mcp_server.url("/api/v1/users/me"), headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert post_initialize(mcp_server, headers).status_code == 401


def test_protected_resource_metadata(mcp_server: LiveServer) -> None:
    for path in (
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ):
        response = httpx2.get(mcp_server.url(path))
        assert response.status_code == 200
        document = response.json()
        assert document["resource"] == f"{mcp_server.base_url}/mcp"
        assert document["authorization_servers"] == [mcp_server.base_url]
        assert document["bearer_methods_supported"] == ["header"]
        assert document["scopes_supported"] == list(SUPPORTED)


def test_mcp_is_not_in_the_openapi_contract(mcp_server: LiveServer) -> None:
    paths = httpx2.get(mcp_server.url("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/mcp", "/.well-known"))]


def test_the_body_limit_and_json_depth_apply(mcp_server: LiveServer, account: Account) -> None:
    headers = {
        "Authorization": f"Bearer {account.access_token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    deep = "[" * 100 + "]" * 100
    response = httpx2.post(mcp_server.url("/mcp"), content=deep, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/json-too-deep"
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x" * 2_000_000})
    response = httpx2.post(mcp_server.url("/mcp"), content=huge, headers=headers)
    assert response.status_code == 413


def test_a_foreign_origin_is_refused(mcp_server: LiveServer, account: Account) -> None:
    response = post_initialize(
        mcp_server,
        {"Authorization": f"Bearer {account.access_token}", "Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_cors_preflight_allows_the_mcp_headers(make_client: Any) -> None:
    client = make_client(cors_origins=["http://localhost:5173"])
    response = client.options(
        "/mcp",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert response.status_code == 200
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "mcp-protocol-version" in allowed
    assert "authorization" in allowed


def test_only_post_is_served_and_only_json(mcp_server: LiveServer, account: Account) -> None:
    headers = {"Authorization": f"Bearer {account.access_token}"}
    # Stateless: no stream to open (GET), no session to end (DELETE).
    for method in ("GET", "DELETE"):
        response = httpx2.request(
            method, mcp_server.url("/mcp"), headers={**headers, "Accept": "text/event-stream"}
        )
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "POST"
    response = httpx2.post(
        mcp_server.url("/mcp"),
        content=b"{}",
        headers={**headers, "Content-Type": "text/plain", "Accept": "application/json"},
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_personal_token_is_held_to_its_scopes(mcp_server: LiveServer) -> None:
    """A real personal access token over real HTTP (issue 21): a read-only token reads and
    is refused a write with 403 insufficient-scope; nothing is created."""
    owner = new_account(mcp_server)
    with httpx2.Client(base_url=mcp_server.base_url) as http:
        made = http.post(
            "/api/v1/tokens",
            json={"name": "assistant", "scopes": ["tasks:read"], "expires_in_days": 1},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
    token = made.json()["token"]

    async def main() -> tuple[Any, Any]:
        async with connect(mcp_server, token) as client:
            listed = await client.call_tool("list_tasks", {})
            refused = await client.call_tool("add_task", {"title": "not allowed"})
            return listed, refused

    listed, refused = run(main)
    assert structured(listed)["items"] == []
    assert refused.is_error
    assert refused.structured_content["status"] == 403
    assert refused.structured_content["type"] == "/problems/insufficient-scope"
