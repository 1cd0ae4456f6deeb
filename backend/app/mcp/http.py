"""`/mcp`: the SDK's Streamable HTTP transport behind the REST API's own bearer check, and
the OAuth 2.0 Protected Resource Metadata (RFC 9728) that tells a client how to get a token.

Stateless with JSON responses: each POST carries one message and is answered on its own, so
any worker of any instance can serve it, nothing is kept between requests, and no stream is
held open. The tools need no server-to-client requests (sampling, elicitation) that a session
would be needed for.

The request passes the app's middleware first (request id, security headers, CORS, body size,
JSON depth): `/mcp` is a route of the app like any other.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.datastructures import Headers
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from app.core.config import Settings
from app.core.errors import NotAuthenticated, UnsupportedMediaType, problem_response
from app.mcp.context import Backend
from app.mcp.scopes import SUPPORTED
from app.mcp.server import CALLER_STATE_KEY

logger = logging.getLogger("app.mcp")

PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"


def _base_url(scope: Scope) -> str:
    # Behind TRUSTED_PROXIES the scheme and host are the client's (ProxyHeadersMiddleware).
    return str(Request(scope).base_url).rstrip("/")


def metadata_url(scope: Scope) -> str:
    """Where RFC 9728 puts the metadata of the resource `<base>/mcp`: the well-known path
    with the resource's path appended."""
    return f"{_base_url(scope)}{METADATA_PATH}{PATH}"


def resource_metadata(scope: Scope, settings: Settings) -> dict[str, Any]:
    base = _base_url(scope)
    # Tokens come from the identity provider when one is configured, else from this API's
    # own token endpoint (its issuer is this server).
    issuers = [settings.auth_issuer] if settings.auth_issuer else []
    if settings.local_accounts_enabled or not issuers:
        issuers.append(base)
    return {
        "resource": f"{base}{PATH}",
        "authorization_servers": issuers,
        "bearer_methods_supported": ["header"],
        "scopes_supported": list(SUPPORTED),
        "resource_name": "Tasks API",
        "resource_documentation": f"{base}/docs",
    }


# Not in the OpenAPI contract: an OAuth discovery document, the same for every resource
# server, not an operation of the task API (and schemathesis need not fuzz it).
metadata_router = APIRouter()


@metadata_router.get(METADATA_PATH, include_in_schema=False)
@metadata_router.get(METADATA_PATH + PATH, include_in_schema=False)
async def protected_resource_metadata(request: Request) -> JSONResponse:
    """RFC 9728 metadata of the MCP endpoint."""
    settings: Settings = request.app.state.settings
    return JSONResponse(
        resource_metadata(request.scope, settings),
        headers={"Cache-Control": "public, max-age=3600"},
    )


def _is_json(headers: Headers) -> bool:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower() == "application/json"


def _bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _challenge(scope: Scope, error: NotAuthenticated | None) -> str:
    """`WWW-Authenticate` pointing at the metadata (MCP authorization spec, RFC 9728 5.1):
    with the REST API's error attributes for a bad token, none for a missing one."""
    parameter = f'resource_metadata="{metadata_url(scope)}"'
    if error is None:
        return f"Bearer {parameter}"
    return f"{error.headers()['WWW-Authenticate']}, {parameter}"


class McpEndpoint:
    """The ASGI app at `/mcp`. `run()` starts the SDK's session manager (in the app's
    lifespan); it is made anew on each start, since one can run only once."""

    def __init__(self, server: Server[Any], backend: Backend, settings: Settings) -> None:
        # The SDK logs the end of every stateless request at INFO ("Terminating session:
        # None"); our access log already has a line per request. Its warnings still show.
        sdk_logger = logging.getLogger("mcp")
        if sdk_logger.level == logging.NOTSET:
            sdk_logger.setLevel(logging.WARNING)
        self.server = server
        self.backend = backend
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        manager = StreamableHTTPSessionManager(
            app=self.server,
            json_response=True,
            stateless=True,
            max_request_body_size=self.settings.max_body_bytes,
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover - routes only see HTTP here
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, scope):
            # The MCP transport spec asks servers to refuse other origins (DNS rebinding);
            # the browser origins allowed are the REST API's (CORS_ORIGINS).
            response = problem_response(
                403, detail="This origin may not call the MCP endpoint.", instance=scope["path"]
            )
            await response(scope, receive, send)
            return
        token = _bearer_token(headers)
        if token is None:
            await self._unauthorized(scope, receive, send, None)
            return
        try:
            caller = await self.backend.authenticate(token)
        except NotAuthenticated as exc:
            await self._unauthorized(scope, receive, send, exc)
            return
        if scope["method"] != "POST":
            # Stateless: no stream for the server to speak on (GET) and no session to end
            # (DELETE); the transport spec's answer is 405.
            response = problem_response(405, instance=scope["path"], headers={"Allow": "POST"})
            await response(scope, receive, send)
            return
        if not _is_json(headers):
            error = UnsupportedMediaType()
            response = problem_response(error.status, detail=error.detail, instance=scope["path"])
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        manager = self._manager
        if manager is None:
            response = problem_response(
                503, detail="The MCP endpoint is not running.", instance=scope["path"]
            )
            await response(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)

    def _origin_allowed(self, origin: str, scope: Scope) -> bool:
        allowed = self.settings.cors_origins
        url = Request(scope).url
        return "*" in allowed or origin in allowed or origin == f"{url.scheme}://{url.netloc}"

    async def _unauthorized(
        self, scope: Scope, receive: Receive, send: Send, error: NotAuthenticated | None
    ) -> None:
        problem = error or NotAuthenticated()
        response = problem_response(
            401,
            detail=problem.detail,
            title=problem.title,
            type_=problem.type_,
            instance=scope["path"],
            headers={"WWW-Authenticate": _challenge(scope, error)},
        )
        await response(scope, receive, send)


class McpRoute(Route):
    """`/mcp`, any method, to the endpoint; named in the scope like the app's own routes, so
    logs and metrics show it as `/mcp` (core.logging.route_template)."""

    def __init__(self, endpoint: McpEndpoint) -> None:
        super().__init__(PATH, endpoint=endpoint, include_in_schema=False)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def create_endpoint(state: Any) -> McpEndpoint:
    """The endpoint over the app's own services (see app.main.create_app)."""
    # Imported here: app.mcp.server imports the tools, which the metadata route needs not.
    from app.mcp.server import build_server, http_caller

    backend = Backend(state)
    return McpEndpoint(build_server(backend, http_caller), backend, state.settings)
