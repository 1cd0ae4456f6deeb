from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.core import rate_limit
from app.core.callers import Caller
from app.dependencies import CurrentUser, SessionDep, enforce_limits, require_json, require_scope
from app.routers.safe_writes import (
    IDEMPOTENCY_KEY,
    idempotency_responses,
    idempotent,
    merge_responses,
    precondition_responses,
)
from app.schemas.batch import BatchRequest, BatchResponse
from app.schemas.common import problem_responses
from app.schemas.task import task_document
from app.services import batch as batch_service

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=problem_responses(503))


@router.post(
    "/batch",
    summary="Apply several task changes at once",
    response_model=BatchResponse,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 404, 413, 415, 422, 429),
        precondition_responses(),
        idempotency_responses(200),
    ),
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def batch_tasks(
    batch: BatchRequest, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Up to 100 creates, updates, completes, reopens and deletes in one transaction: all
    are applied or none. A create's `temp_id` may be the `id` of a later operation. The first
    operation that fails decides the answer (its problem names its `index`). Counts as one
    request per operation against the rate limit."""
    # The per-user limit has counted this request once already (authorize_user).
    extra = len(batch.operations) - 1
    if extra:
        await enforce_limits(
            request,
            request.app.state.rate_limiter,
            [(rate_limit.USER, str(current_user.id))],
            cost=extra,
        )
    return await run_in_threadpool(_run, batch, session, current_user, request)


def _run(batch: BatchRequest, session: Session, current_user: Caller, request: Request) -> Response:
    def write() -> Response:
        outcome = batch_service.run_batch(
            session=session,
            user_id=current_user.id,
            operations=batch.operations,
            require_if_match=request.app.state.settings.require_if_match,
        )
        body: dict[str, Any] = {
            "temp_ids": outcome.temp_ids,
            "results": [
                {
                    "index": result.index,
                    "op": result.op,
                    "id": result.id,
                    "status": result.status,
                    "task": (
                        task_document(result.view.task, result.view.tags)
                        if result.view is not None
                        else None
                    ),
                }
                for result in outcome.results
            ],
        }
        content = orjson.dumps(body, option=orjson.OPT_UTC_Z)
        return Response(content, 200, media_type="application/json")

    return idempotent(request, session, current_user.id, batch, write)
