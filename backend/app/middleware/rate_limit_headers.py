"""The IETF `RateLimit` and `RateLimit-Policy` headers on every rate-limited response.

The limiting itself happens in dependencies (they know the account and the user); they leave
their counts in the request state, and this middleware writes them on whatever response goes
out, a success, a 429 or any other error.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.rate_limit import LimitState, policy_header, ratelimit_header

STATE_KEY = "rate_limits"


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                limits: list[LimitState] | None = state.get(STATE_KEY)
                if limits:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"ratelimit-policy", policy_header(limits).encode()),
                        (b"ratelimit", ratelimit_header(limits).encode()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
