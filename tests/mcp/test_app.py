"""How the MCP endpoint sits in the app: after every REST route, behind the same middleware,
and gone with MCP_ENABLED=false."""

from fastapi.routing import APIRoute

from app.mcp.http import McpRoute
from tests.conftest import ClientFactory


def test_rest_routes_are_matched_before_mcp(make_client: ClientFactory) -> None:
    routes = make_client().app.router.routes  # type: ignore[attr-defined]
    mcp_at = next(i for i, route in enumerate(routes) if isinstance(route, McpRoute))
    assert all(i < mcp_at for i, route in enumerate(routes) if isinstance(route, APIRoute))


def test_mcp_enabled_false_serves_neither_route(make_client: ClientFactory) -> None:
    client = make_client(mcp_enabled=False)
    assert client.post("/mcp", json={}).status_code == 404
    assert client.get("/.well-known/oauth-protected-resource").status_code == 404


def test_without_a_token_the_challenge_comes_with_the_request_id(
    make_client: ClientFactory,
) -> None:
    response = make_client().post("/mcp", json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer resource_metadata="')
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
