from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, status
from sqlmodel import Session

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
from app.schemas.common import problem_responses
from app.schemas.task import (
    TaskCreate,
    TaskPage,
    TaskPublic,
    TaskReplace,
    TaskUpdate,
    task_document,
)
from app.schemas.task_query import CountPair, TagCount, TaskStats, query_parameters
from app.services import tags as tag_service
from app.services import tasks as task_service
from app.services.tasks import TaskView

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=problem_responses(503))

_BODY_ERRORS = (400, 401, 413, 415, 422, 429)


def _document(view: TaskView) -> dict[str, Any]:
    return task_document(view.task, view.tags)


def _json(session: Session, body: Any, status_code: int = 200, **headers: str) -> Response:
    # Encoded once, straight to bytes (orjson; `Z` for UTC like pydantic). Returning a model
    # instead would make FastAPI validate it against response_model and encode it, on
    # another thread-pool hop. response_model still documents the shape.
    content = orjson.dumps(body, option=orjson.OPT_UTC_Z)
    end_transaction(session)
    return Response(content, status_code, headers, media_type="application/json")


@router.get(
    "",
    summary="List your tasks",
    response_model=TaskPage,
    responses=problem_responses(400, 401, 422, 429),
    openapi_extra={"parameters": query_parameters()},
    dependencies=[require_scope("tasks:read")],
)
def list_tasks(query: TaskQueryDep, session: SessionDep, current_user: CurrentUser) -> Response:
    """List your tasks a page at a time: filter, search and sort (newest first by default)."""
    views, next_cursor = task_service.list_tasks(
        session=session, user_id=current_user.id, query=query, zone=current_user.timezone
    )
    page = {"items": [_document(view) for view in views], "next_cursor": next_cursor}
    return _json(session, page)


# Declared before /{task_id}, so "stats" is never read as a task id.
@router.get(
    "/stats",
    summary="Count your tasks",
    response_model=TaskStats,
    dependencies=[require_scope("tasks:read")],
    responses=problem_responses(401, 429),
)
def get_task_stats(session: SessionDep, current_user: CurrentUser) -> TaskStats:
    """Counts of your tasks: open, completed, overdue, due today, by priority and by tag."""
    stats = task_service.task_stats(
        session=session, user_id=current_user.id, zone=current_user.timezone
    )
    tags = tag_service.list_tags(session=session, user_id=current_user.id)
    return TaskStats(
        total=stats.total,
        open=stats.total - stats.completed,
        completed=stats.completed,
        overdue=stats.overdue,
        due_today=stats.due_today,
        by_priority={
            priority: CountPair(open=open_, total=total)
            for priority, (open_, total) in stats.by_priority.items()
        },
        by_tag=[
            TagCount(id=tag.id, name=tag.name, open=tag.open_tasks, total=tag.total_tasks)
            for tag in tags
        ],
    )


@router.post(
    "",
    summary="Create a task",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS),
)
def create_task(
    task_in: TaskCreate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Create a task. The `Location` header points at it."""
    view = task_service.create_task(session=session, user_id=current_user.id, task_in=task_in)
    # The task's own path, as url_for would build it (root_path included), without its
    # search through every route.
    location = f"{request.scope.get('root_path', '')}{router.prefix}/{view.task.id}"
    return _json(session, _document(view), status.HTTP_201_CREATED, Location=location)


@router.get(
    "/{task_id}",
    summary="Get a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:read")],
    responses=problem_responses(401, 404, 429),
)
def get_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """One of your tasks."""
    view = task_service.get_task_view(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    return _json(session, _document(view))


@router.patch(
    "/{task_id}",
    summary="Update some fields of a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS, 404),
)
def update_task(
    task_in: TaskUpdate, task_id: TaskId, session: SessionDep, current_user: CurrentUser
) -> Response:
    """Change some fields. Send `"description": null` to clear the description."""
    view = task_service.update_task(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), task_in=task_in
    )
    return _json(session, _document(view))


@router.put(
    "/{task_id}",
    summary="Replace a task",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS, 404),
)
def replace_task(
    task_in: TaskReplace, task_id: TaskId, session: SessionDep, current_user: CurrentUser
) -> Response:
    """Replace every client field; omitted optional fields return to their defaults."""
    view = task_service.replace_task(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), task_in=task_in
    )
    return _json(session, _document(view))


@router.delete(
    "/{task_id}",
    summary="Delete a task",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("tasks:write")],
    responses=problem_responses(401, 404, 429),
)
def delete_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete a task."""
    task_service.delete_task(session=session, user_id=current_user.id, task_id=task_uuid(task_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{task_id}/complete",
    summary="Mark a task done",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write")],
    responses=problem_responses(401, 404, 429),
)
def complete_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """Mark a task done. Safe to retry: completing a completed task changes nothing."""
    view = task_service.set_completed(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), completed=True
    )
    return _json(session, _document(view))


@router.post(
    "/{task_id}/reopen",
    summary="Mark a task not done",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write")],
    responses=problem_responses(401, 404, 429),
)
def reopen_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """Mark a task not done. Safe to retry."""
    view = task_service.set_completed(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), completed=False
    )
    return _json(session, _document(view))
