"""`tasks-api mcp --stdio`: the MCP server on standard input and output, for an assistant
that starts it as a local process, acting for the account whose token is in the environment.

The token is checked at start (a bad one exits with a message, before any message is read)
and again on every call, from memory as on HTTP: a token that expires, or is revoked (logout
everywhere, a password change, a deleted account), stops working here as it does on REST.
"""

import os
from typing import Any

from mcp.server.stdio import stdio_server

from app.core.callers import Caller
from app.mcp.context import Backend
from app.mcp.server import Context, build_server

TOKEN_VARIABLE = "TASKS_API_TOKEN"  # noqa: S105 - a variable name, not a secret


def token_from_environment() -> str | None:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    return token or None


async def serve_stdio(backend: Backend, token: str) -> None:
    """Serve until standard input closes. NotAuthenticated if the token is refused now."""
    await backend.authenticate(token)

    async def stdio_caller(_ctx: Context) -> Caller:
        return await backend.authenticate(token)

    server = build_server(backend, stdio_caller)
    options: Any = server.create_initialization_options()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, options)
