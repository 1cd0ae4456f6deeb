"""Logging: JSON lines (LOG_FORMAT=json, the production default) or readable text.

Every record logged while a request is being handled carries that request's id, method, route
template, status (once the response has started) and the time elapsed so far; the closing
`app.access` line of each request has the final status and duration. Headers are never
logged, so neither are Authorization values or cookies.
"""

import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

from app.core.config import Settings

CONTEXT_FIELDS = ("request_id", "method", "route", "status", "duration_ms")


@dataclass(slots=True)
class RequestContext:
    """What the observability middleware knows about the request in flight."""

    scope: Scope
    method: str
    started: float = field(default_factory=time.perf_counter)
    status: int | None = None

    @property
    def request_id(self) -> str | None:
        value = (self.scope.get("state") or {}).get("request_id")
        return value if isinstance(value, str) else None

    @property
    def route(self) -> str | None:
        return route_template(self.scope)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)


def route_template(scope: Scope) -> str | None:
    """`/api/v1/tasks/{task_id}`, never the raw path; None before routing or if unmatched."""
    route = scope.get("route")
    if route is None:
        # A mount (e.g. /static) sets its endpoint and extends root_path, but not "route".
        if scope.get("endpoint") is not None and scope.get("root_path"):
            return f"{scope['root_path']}/{{path}}"
        return None
    template: str | None = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)


class RequestContextFilter(logging.Filter):
    """Copies the current request's fields onto every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request.get()
        if context is None:
            for name in CONTEXT_FIELDS:
                if not hasattr(record, name):
                    setattr(record, name, None)
            return True
        values = {
            "request_id": context.request_id,
            "method": context.method,
            "route": context.route,
            "status": context.status,
            "duration_ms": context.elapsed_ms(),
        }
        for name, value in values.items():
            # Explicit `extra=` values (the access line's final numbers) win.
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


# Record attributes that are not extras; uvicorn's color_message duplicates the message.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request fields, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            body[name] = getattr(record, name, None)
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRS and name not in body and not name.startswith("_"):
                body[name] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


class TextFormatter(logging.Formatter):
    """`12:00:00.123 INFO  app.access  message  [request_id=... route=... status=...]`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        line = f"{stamp} {record.levelname:<7} {record.name:<14} {record.getMessage()}"
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            fields = " ".join(
                f"{name}={getattr(record, name, None)}"
                for name in CONTEXT_FIELDS
                if getattr(record, name, None) is not None
            )
            line += f"  [{fields}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def logging_config(settings: Settings, level: str | None = None) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict; uvicorn applies it in every worker process."""
    level = level or settings.log_level
    formatter = JsonFormatter if settings.effective_log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContextFilter}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # Ours is the access log (with route template and request id); uvicorn's is off.
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
        },
    }
