"""Manual order: `POST /api/v1/tasks/{id}/move` (issue 16). `sort=position` on the listing
(routers.tasks) shows the order."""

from fastapi import APIRouter, Depends, Request, Response

from app.dependencies import CurrentUser, SessionDep, TaskId, require_json, require_scope, task_uuid
from app.routers.safe_writes import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    etag_responses,
    idempotency_responses,
    idempotent,
    if_match,
    merge_responses,
    precondition_responses,
)
from app.routers.tasks import task_response
from app.schemas.common import problem_responses
from app.schemas.task import TaskMove, TaskPublic
from app.services import tasks as task_service

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=problem_responses(503))


@router.post(
    "/{task_id}/move",
    summary="Move a task in the manual order",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 404, 413, 415, 422, 429),
        precondition_responses(),
        etag_responses(200),
        idempotency_responses(200),
    ),
    openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
)
def move_task(
    move: TaskMove,
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Place the task right before or after a sibling, or last; optionally in another list
    or under another parent first (its subtasks go with it). Only the moved task's `position`
    changes; its siblings keep theirs. Read the order with `sort=position`."""
    expected = if_match(request)

    def write() -> Response:
        view = task_service.move_task(
            session=session,
            user_id=current_user.id,
            task_id=task_uuid(task_id),
            move=move,
            expected=expected,
        )
        return task_response(session, view)

    return idempotent(request, session, current_user.id, move, write)
