"""The MCP server (the SDK's low-level `Server`): tools and resources over the same services,
for one caller per call, whatever the transport.

Every call goes the same way: who is calling (`CallerOf`: the HTTP request's bearer token, or
the stdio process's token), the scope check, the per-user rate limit, then the tool on a
worker thread with a session bound to the caller. Whatever fails comes back as a tool error
carrying the REST problem document (type, title, status, detail; `errors` naming each invalid
argument), never a stack trace.
"""

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

from mcp.server import Server
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    TextContent,
    TextResourceContents,
)
from pydantic import ValidationError

from app import observability
from app.core.callers import Caller
from app.core.errors import DomainError, NotAuthenticated, RateLimited, is_database_unavailable
from app.mcp.context import Backend
from app.mcp.resources import RESOURCES
from app.mcp.scopes import require_scopes
from app.mcp.tools import TOOLS

logger = logging.getLogger("app.mcp")

NAME = "tasks-api"
INSTRUCTIONS = (
    "Manage the signed-in user's task list: add, list, search, update, complete, reopen and "
    "delete tasks, and read their tags and counts. Only this user's tasks exist here; an id "
    "that is not theirs is not found. Dates are ISO 8601 (an all-day YYYY-MM-DD, or a "
    "date-time with an offset)."
)
# Per-user data: a client may cache nothing it read for one token and reuse it for another.
CACHE_HINTS: dict[CacheableMethod, CacheHint] = {
    "resources/read": CacheHint(ttl_ms=0, scope="private"),
    "resources/list": CacheHint(ttl_ms=0, scope="private"),
}
# Where the HTTP transport leaves the authenticated caller in the request's ASGI state.
CALLER_STATE_KEY = "mcp_caller"

Context = ServerRequestContext[Any, Any]
CallerOf = Callable[[Context], Awaitable[Caller]]


def http_state(ctx: Context) -> MutableMapping[str, Any] | None:
    """The ASGI state of the HTTP request that carried this message (None on stdio)."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if scope is None:
        return None
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    return state


async def http_caller(ctx: Context) -> Caller:
    """The caller app.mcp.http authenticated for this request."""
    state = http_state(ctx)
    caller = None if state is None else state.get(CALLER_STATE_KEY)
    if not isinstance(caller, Caller):
        raise NotAuthenticated
    return caller


def problem_of(exc: Exception, ctx: Context) -> dict[str, Any]:
    """The REST problem document (app.core.errors) for what a call raised."""
    if isinstance(exc, ValidationError):
        errors = [
            {
                "loc": [str(part) for part in error["loc"]],
                "msg": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors()
        ]
        names = sorted({".".join(error["loc"]) or "arguments" for error in errors})
        return {
            "type": "/problems/validation-error",
            "title": "Validation failed",
            "status": 422,
            "detail": "Invalid arguments: " + ", ".join(names),
            "errors": errors,
        }
    if isinstance(exc, DomainError):
        problem: dict[str, Any] = {
            "type": exc.type_,
            # Without a title of its own, HTTP's phrase, as problem_response gives it.
            "title": exc.title or HTTPStatus(exc.status).phrase,
            "status": exc.status,
            "detail": exc.detail,
        }
        if isinstance(exc, RateLimited):
            problem["retry_after"] = exc.retry_after
        return problem
    if is_database_unavailable(exc):
        logger.warning("database unavailable during an MCP call: %s", type(exc).__name__)
        return {
            "type": "/problems/database-unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": "The database is temporarily unavailable. Retry in a few seconds.",
        }
    state = http_state(ctx)
    request_id = state.get("request_id") if state is not None else None
    logger.error("unhandled error in an MCP call (request id %s)", request_id, exc_info=exc)
    return {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "An unexpected error occurred. Quote the request id when reporting it.",
        "request_id": request_id,
    }


def problem_text(problem: dict[str, Any]) -> str:
    """The problem in one line, for the model reading the result."""
    text = f"{problem['title']} ({problem['status']}): {problem['detail']}"
    if "retry_after" in problem:
        text += f" Retry after {problem['retry_after']} seconds."
    return text


def error_result(problem: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=problem_text(problem))],
        structured_content=problem,
        is_error=True,
    )


def build_server(backend: Backend, caller_of: CallerOf) -> Server[Any]:
    """The MCP server, for callers that `caller_of` names."""

    async def authorize(ctx: Context, scopes: tuple[str, ...]) -> Caller:
        caller = await caller_of(ctx)
        require_scopes(caller, scopes)
        await backend.count_call(caller, http_state(ctx))
        return caller

    async def list_tools(ctx: Context, params: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=[spec.tool() for spec in TOOLS.values()])

    async def call_tool(ctx: Context, params: CallToolRequestParams) -> CallToolResult:
        spec = TOOLS.get(params.name)
        if spec is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        arguments = params.arguments or {}
        try:
            caller = await authorize(ctx, spec.scopes)
            document = await backend.run(
                caller,
                writes=spec.writes,
                work=lambda session: spec.run(session, caller, arguments),
            )
        except Exception as exc:
            problem = problem_of(exc, ctx)
            observability.record_mcp_tool_call(spec.name, str(problem["status"]))
            return error_result(problem)
        observability.record_mcp_tool_call(spec.name, "ok")
        text = json.dumps(document, ensure_ascii=False)
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=document
        )

    async def list_resources(
        ctx: Context, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=[spec.resource() for spec in RESOURCES.values()])

    async def read_resource(ctx: Context, params: ReadResourceRequestParams) -> ReadResourceResult:
        uri = str(params.uri)
        spec = RESOURCES.get(uri)
        if spec is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown resource: {uri}")
        try:
            caller = await authorize(ctx, spec.scopes)
            document = await backend.run(
                caller, writes=False, work=lambda session: spec.read(session, caller)
            )
        except Exception as exc:
            problem = problem_of(exc, ctx)
            # A resource has no error result: a protocol error, with the problem as its data.
            raise MCPError(
                code=INVALID_PARAMS if problem["status"] < 500 else INTERNAL_ERROR,
                message=problem_text(problem),
                data=problem,
            ) from None
        text = json.dumps(document, ensure_ascii=False)
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, text=text, mime_type="application/json")]
        )

    return Server(
        NAME,
        version="0.1.0",
        title="Tasks API",
        instructions=INSTRUCTIONS,
        cache_hints=CACHE_HINTS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )
