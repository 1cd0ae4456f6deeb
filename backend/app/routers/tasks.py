import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlmodel import Session

from app.core.etags import strong_etag
from app.dependencies import (
    CurrentUser,
    SessionDep,
    TaskId,
    TaskQueryDep,
    end_transaction,
    require_json,
    require_scope,
    task_uuid,
)
from app.routers.safe_writes import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_NONE_MATCH,
    etag_header,
    etag_responses,
    idempotency_responses,
    idempotent,
    if_match,
    json_with_weak_etag,
    merge_responses,
    not_modified,
    not_modified_responses,
    precondition_responses,
)
from app.schemas.common import problem_responses
from app.schemas.task import (
    TaskCreate,
    TaskPage,
    TaskPublic,
    TaskReplace,
    TaskUpdate,
    task_document,
)
from app.schemas.task_query import TaskStats, query_parameters
from app.services import completions as completion_service
from app.services import task_stats as stats_service
from app.services import tasks as task_service
from app.services import trash as trash_service
from app.services.tasks import TaskView

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=problem_responses(503))

_BODY_ERRORS = (400, 401, 413, 415, 422, 429)
_CONDITIONAL_BODY_WRITE = merge_responses(
    problem_responses(*_BODY_ERRORS, 404), precondition_responses(), etag_responses(200)
)
_CONDITIONAL_POST = merge_responses(
    problem_responses(401, 404, 429),
    precondition_responses(),
    etag_responses(200),
    idempotency_responses(200),
)


def _document(view: TaskView) -> dict[str, Any]:
    return task_document(view.task, view.tags)


def _encode(session: Session, body: Any) -> bytes:
    # Encoded once, straight to bytes (orjson; `Z` for UTC like pydantic). Returning a model
    # instead would make FastAPI validate it against response_model and encode it, on
    # another thread-pool hop. response_model still documents the shape.
    content = orjson.dumps(body, option=orjson.OPT_UTC_Z)
    end_transaction(session)
    return content


def _json(session: Session, body: Any, status_code: int = 200, **headers: str) -> Response:
    return Response(_encode(session, body), status_code, headers, media_type="application/json")


def _task(session: Session, view: TaskView, status_code: int = 200, **headers: str) -> Response:
    """A task, with its version as the strong ETag."""
    return _json(session, _document(view), status_code, **headers, **etag_header(view.task.version))


# For the other task routers (the trash, recurrence): the same rendering.
json_response = _json
task_response = _task


@router.get(
    "",
    summary="List your tasks",
    response_model=TaskPage,
    dependencies=[require_scope("tasks:read")],
    responses=merge_responses(
        problem_responses(400, 401, 422, 429), not_modified_responses(200, weak=True)
    ),
    openapi_extra={"parameters": [*query_parameters(), IF_NONE_MATCH]},
)
def list_tasks(
    query: TaskQueryDep, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """List your tasks a page at a time: filter, search and sort (newest first by default)."""
    views, next_cursor = task_service.list_tasks(
        session=session, user_id=current_user.id, query=query, zone=current_user.timezone
    )
    page = {"items": [_document(view) for view in views], "next_cursor": next_cursor}
    return json_with_weak_etag(request, _encode(session, page))


# Declared before /{task_id}, so "stats" is never read as a task id.
@router.get(
    "/stats",
    summary="Count your tasks",
    response_model=TaskStats,
    dependencies=[require_scope("tasks:read")],
    responses=merge_responses(
        problem_responses(401, 422, 429), not_modified_responses(200, weak=True)
    ),
    openapi_extra={"parameters": [IF_NONE_MATCH]},
)
def get_task_stats(
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    lists: Annotated[
        list[uuid.UUID],
        Query(alias="list", description="Count only these lists (ids); repeatable."),
    ] = [],  # noqa: B006 - FastAPI copies the default
    archived: Annotated[
        bool, Query(description="`true`: count tasks of archived lists too.")
    ] = False,
) -> Response:
    """Counts of your tasks: open, completed, overdue, due today, by priority and by tag."""
    counts = stats_service.stats_document(
        session=session,
        user_id=current_user.id,
        zone=current_user.timezone,
        list_ids=lists,
        archived=archived,
    )
    end_transaction(session)
    return json_with_weak_etag(request, counts.model_dump_json().encode())


@router.post(
    "",
    summary="Create a task",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(*_BODY_ERRORS), etag_responses(201), idempotency_responses(201)
    ),
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
def create_task(
    task_in: TaskCreate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Create a task (in the Inbox unless `list_id` says otherwise, under `parent_id` if
    given). The `Location` header points at it. Safe to retry with an `Idempotency-Key`."""

    def create() -> Response:
        view = task_service.create_task(
            session=session,
            user_id=current_user.id,
            task_in=task_in,
            list_id=task_in.list_id,
            parent_id=task_in.parent_id,
        )
        # The task's own path, as url_for would build it (root_path included), without its
        # search through every route.
        location = f"{request.scope.get('root_path', '')}{router.prefix}/{view.task.id}"
        return _task(session, view, status.HTTP_201_CREATED, Location=location)

    return idempotent(request, session, current_user.id, task_in, create)


@router.get(
    "/{task_id}",
    summary="Get a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:read")],
    responses=merge_responses(problem_responses(401, 404, 429), not_modified_responses(200)),
    openapi_extra={"parameters": [IF_NONE_MATCH]},
)
def get_task(
    task_id: TaskId, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """One of your tasks, with its version as the `ETag`."""
    view = task_service.get_task_view(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    unchanged = not_modified(request, strong_etag(view.task.version))
    if unchanged is not None:
        end_transaction(session)
        return unchanged
    return _task(session, view)


@router.patch(
    "/{task_id}",
    summary="Update some fields of a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=_CONDITIONAL_BODY_WRITE,
    openapi_extra={"parameters": [IF_MATCH]},
)
def update_task(
    task_in: TaskUpdate,
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Change some fields. Send `"description": null` to clear the description."""
    view = task_service.update_task(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        task_in=task_in,
        expected=if_match(request),
        zone=current_user.timezone,
    )
    return _task(session, view)


@router.put(
    "/{task_id}",
    summary="Replace a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=_CONDITIONAL_BODY_WRITE,
    openapi_extra={"parameters": [IF_MATCH]},
)
def replace_task(
    task_in: TaskReplace,
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Replace every client field; omitted optional fields return to their defaults."""
    view = task_service.replace_task(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        task_in=task_in,
        expected=if_match(request),
        zone=current_user.timezone,
    )
    return _task(session, view)


@router.delete(
    "/{task_id}",
    summary="Delete a task",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("tasks:write")],
    responses=merge_responses(problem_responses(401, 404, 422, 429), precondition_responses()),
    openapi_extra={"parameters": [IF_MATCH]},
)
def delete_task(
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    permanent: Annotated[
        bool, Query(description="`true`: delete for good instead of moving it to the trash.")
    ] = False,
) -> Response:
    """Move a task to the trash (restorable for TRASH_RETENTION_DAYS), or delete it for good."""
    delete = task_service.delete_task if permanent else trash_service.trash_task
    delete(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        expected=if_match(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{task_id}/complete",
    summary="Mark a task done",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write")],
    responses=_CONDITIONAL_POST,
    openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
)
def complete_task(
    task_id: TaskId, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Mark a task done. Safe to retry: completing a completed task changes nothing. A
    recurring task records the completion and moves on to its next due, staying open (it
    closes after its last occurrence); to retry that safely, send `If-Match` (a retry gets
    412) or `Idempotency-Key` (a retry gets the first answer)."""
    expected = if_match(request)

    def write() -> Response:
        view = completion_service.complete_task(
            session=session,
            user_id=current_user.id,
            task_id=task_uuid(task_id),
            zone=current_user.timezone,
            expected=expected,
        )
        return _task(session, view)

    return idempotent(request, session, current_user.id, None, write)


@router.post(
    "/{task_id}/reopen",
    summary="Mark a task not done",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write")],
    responses=_CONDITIONAL_POST,
    openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
)
def reopen_task(
    task_id: TaskId, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Mark a task not done. Safe to retry."""
    return _set_completed(request, session, current_user.id, task_id, completed=False)


def _set_completed(
    request: Request, session: Session, user_id: uuid.UUID, task_id: str, *, completed: bool
) -> Response:
    expected = if_match(request)

    def write() -> Response:
        view = task_service.set_completed(
            session=session,
            user_id=user_id,
            task_id=task_uuid(task_id),
            completed=completed,
            expected=expected,
        )
        return _task(session, view)

    return idempotent(request, session, user_id, None, write)
