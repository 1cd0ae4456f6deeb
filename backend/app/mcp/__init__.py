"""The Model Context Protocol server: the task API's services as tools and resources for AI
assistants, at `/mcp` (Streamable HTTP, app.mcp.http) and on stdio (`tasks-api mcp --stdio`).

A protocol adapter like the routers: it authenticates with the same authenticator, counts
against the same rate limits, and calls the same service functions with the caller's user_id.
It writes no SQL of its own (pyproject.toml's import contracts keep SQLAlchemy out of it).

- server.py: the SDK server, one path for every call (caller, scopes, limit, errors)
- tools.py, resources.py: what it offers; scopes.py: what each needs
- context.py: the app's sessions, authenticator and rate limiter; http.py, stdio.py: transports
"""
