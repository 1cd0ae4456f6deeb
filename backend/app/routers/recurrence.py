"""Recurring tasks: completions, the preview of next occurrences, skipping one (issue 19).
Completing goes through `POST /api/v1/tasks/{id}/complete` (routers.tasks)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.dependencies import (
    CurrentUser,
    SessionDep,
    TaskId,
    end_transaction,
    require_scope,
    task_uuid,
)
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
from app.schemas.recurrence import (
    MAX_OCCURRENCES,
    CompletionList,
    CompletionPublic,
    OccurrenceList,
)
from app.schemas.task import TaskPublic
from app.services import completions as completion_service
from app.services.completions import MAX_COMPLETIONS

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=problem_responses(503))


@router.get(
    "/{task_id}/completions",
    summary="List a recurring task's completions",
    response_model=CompletionList,
    responses=problem_responses(401, 404, 422, 429),
    dependencies=[require_scope("tasks:read")],
)
def list_completions(
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_COMPLETIONS, description="At most this many.")] = 50,
) -> CompletionList:
    """The occurrences of the task you completed (their due, and when), newest first."""
    rows = completion_service.list_completions(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), limit=limit
    )
    end_transaction(session)
    return CompletionList(
        items=[CompletionPublic(due=row.due, completed_at=row.completed_at) for row in rows]
    )


@router.get(
    "/{task_id}/occurrences",
    summary="Preview a task's next occurrences",
    response_model=OccurrenceList,
    responses=problem_responses(401, 404, 422, 429),
    dependencies=[require_scope("tasks:read")],
)
def list_occurrences(
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    limit: Annotated[
        int, Query(ge=1, le=MAX_OCCURRENCES, description="At most this many, the due included.")
    ] = 10,
) -> OccurrenceList:
    """The task's current due and the occurrences after it, in your time zone."""
    items = completion_service.preview(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        zone=current_user.timezone,
        limit=limit,
    )
    end_transaction(session)
    return OccurrenceList(items=items)


@router.post(
    "/{task_id}/skip",
    summary="Skip an occurrence of a recurring task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write")],
    responses=merge_responses(
        problem_responses(401, 404, 409, 429),
        precondition_responses(),
        etag_responses(200),
        idempotency_responses(200),
    ),
    openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
)
def skip_task(
    task_id: TaskId, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Move a recurring task to its next occurrence without completing this one (retry it
    safely with `If-Match` or `Idempotency-Key`). 409 for a task that does not recur or
    whose series is over."""
    expected = if_match(request)

    def write() -> Response:
        view = completion_service.skip_occurrence(
            session=session,
            user_id=current_user.id,
            task_id=task_uuid(task_id),
            zone=current_user.timezone,
            expected=expected,
        )
        return task_response(session, view)

    return idempotent(request, session, current_user.id, None, write)
