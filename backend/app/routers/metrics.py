"""GET /metrics: Prometheus text format, optionally behind a bearer token (METRICS_TOKEN)."""

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.core.errors import problem_response
from app.dependencies import SettingsDep
from app.observability import REGISTRY

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, settings: SettingsDep) -> Response:
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            return problem_response(
                401,
                detail="GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.",
                instance=request.url.path,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
