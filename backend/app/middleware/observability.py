"""Per-request logging context, access log line and Prometheus metrics, as pure ASGI."""

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import observability
from app.core.logging import RequestContext, current_request

access_logger = logging.getLogger("app.access")

# A calendar feed's path holds its secret token (calendar apps cannot send headers).
_CALENDAR_FEED = re.compile(r"^/calendar/[^/]*\.ics$")


def _redacted(path: str) -> str:
    return "/calendar/{token}.ics" if _CALENDAR_FEED.match(path) else path


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(scope=scope, method=scope["method"])
        token = current_request.set(context)

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                context.status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except BaseException:
            # The outermost error handler turns this into a 500 after we return; the context
            # stays set (this task ends with the request) so its traceback line carries it.
            if context.status is None:
                context.status = 500
            self._finish(context, scope)
            raise
        self._finish(context, scope)
        current_request.reset(token)

    @staticmethod
    def _finish(context: RequestContext, scope: Scope) -> None:
        status = context.status or 500
        seconds = time.perf_counter() - context.started
        observability.record_request(context.method, context.route, status, seconds)
        path = _redacted(scope.get("path", ""))
        duration_ms = round(seconds * 1000, 2)
        # The path without its query string: queries may carry cursors or other tokens.
        access_logger.info(
            "%s %s %s %.1fms",
            context.method,
            path,
            status,
            duration_ms,
            extra={"path": path, "status": status, "duration_ms": duration_ms},
        )
