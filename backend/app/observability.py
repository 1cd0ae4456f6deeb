"""Prometheus metrics for GET /metrics, and the functions other code calls to count things.

One registry per process (uvicorn workers each report their own; scrape each, or run one
worker per container). Label values are bounded: the route template, never the raw path,
and `unmatched` for requests no route answered.
"""

import weakref
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from app.core.stream_hub import StreamHub

REGISTRY = CollectorRegistry()
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "tasks_api_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "tasks_api_http_request_duration_seconds",
    "Time from request start to the end of the response body, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "tasks_api_auth_failures",
    "Requests answered 401: bad credentials, or a missing, invalid or expired token.",
    ["route"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "tasks_api_rate_limited",
    "Requests rejected by the rate limiter, by policy (see record_rate_limited).",
    ["policy"],
    registry=REGISTRY,
)
MCP_TOOL_CALLS = Counter(
    "tasks_api_mcp_tool_calls",
    "MCP tool calls, by tool and outcome: `ok`, or the status of the problem it returned.",
    ["tool", "outcome"],
    registry=REGISTRY,
)
ProcessCollector(registry=REGISTRY)

_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


class PoolCollector(Collector):
    """Connections checked out of (and held by) the database pools, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        in_use = GaugeMetricFamily(
            "tasks_api_db_pool_connections_in_use", "Database connections checked out now."
        )
        idle = GaugeMetricFamily(
            "tasks_api_db_pool_connections_idle", "Open database connections waiting in the pool."
        )
        checked_out = pooled = 0
        for engine in list(_engines):
            pool = engine.pool
            checked_out += int(getattr(pool, "checkedout", lambda: 0)())
            pooled += int(getattr(pool, "checkedin", lambda: 0)())
        in_use.add_metric([], checked_out)
        idle.add_metric([], pooled)
        yield in_use
        yield idle


REGISTRY.register(PoolCollector())

_hubs: "weakref.WeakSet[StreamHub]" = weakref.WeakSet()


class StreamCollector(Collector):
    """Event streams (GET /api/v1/events) open in this process, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        streams = GaugeMetricFamily(
            "tasks_api_event_streams", "Server-Sent Event streams open in this process."
        )
        streams.add_metric([], sum(hub.count for hub in list(_hubs)))
        yield streams


REGISTRY.register(StreamCollector())


def track_engine(engine: Engine) -> None:
    _engines.add(engine)


def track_stream_hub(hub: "StreamHub") -> None:
    _hubs.add(hub)


def record_mcp_tool_call(tool: str, outcome: str) -> None:
    """Count one call of a registered MCP tool (app.mcp.server): `ok` or a problem status."""
    MCP_TOOL_CALLS.labels(tool, outcome).inc()


def record_rate_limited(policy: str) -> None:
    """Count one request rejected by a rate limiter. Call it where the limiter says no."""
    RATE_LIMITED.labels(policy).inc()


_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def record_request(method: str, route: str | None, status: int, seconds: float) -> None:
    key = (method, route or UNMATCHED, status)
    children = _children.get(key)
    if children is None:
        labels = (key[0], key[1], str(status))
        children = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)
    if status == 401:
        AUTH_FAILURES.labels(key[1]).inc()
