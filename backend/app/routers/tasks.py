from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.dependencies import CurrentUser, OwnedTask, SessionDep, require_json
from app.schemas.common import problem_responses
from app.schemas.task import TaskCreate, TaskPage, TaskPublic, TaskReplace, TaskUpdate
from app.services import tasks as task_service

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

_BODY_ERRORS = (400, 401, 413, 415, 422, 429)


@router.get(
    "",
    summary="List your tasks",
    response_model=TaskPage,
    responses=problem_responses(400, 401, 422, 429),
)
def list_tasks(
    session: SessionDep,
    current_user: CurrentUser,
    completed: Annotated[
        bool | None, Query(description="Only completed (`true`) or open (`false`) tasks.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=1024, description="`next_cursor` from the previous page."),
    ] = None,
) -> TaskPage:
    """List your tasks, newest first, a page at a time."""
    items, next_cursor = task_service.list_tasks(
        session=session, user_id=current_user.id, completed=completed, limit=limit, cursor=cursor
    )
    return TaskPage(
        items=[TaskPublic.model_validate(task) for task in items], next_cursor=next_cursor
    )


@router.post(
    "",
    summary="Create a task",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    dependencies=[Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS),
)
def create_task(
    task_in: TaskCreate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> TaskPublic:
    """Create a task. The `Location` header points at it."""
    task = task_service.create_task(session=session, user_id=current_user.id, task_in=task_in)
    response.headers["Location"] = str(request.url_for("get_task", task_id=str(task.id)).path)
    return TaskPublic.model_validate(task)


@router.get(
    "/{task_id}",
    summary="Get a task",
    response_model=TaskPublic,
    responses=problem_responses(401, 404, 429),
)
def get_task(task: OwnedTask) -> TaskPublic:
    """One of your tasks."""
    return TaskPublic.model_validate(task)


@router.patch(
    "/{task_id}",
    summary="Update some fields of a task",
    response_model=TaskPublic,
    dependencies=[Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS, 404),
)
def update_task(
    task_in: TaskUpdate, task: OwnedTask, session: SessionDep, current_user: CurrentUser
) -> TaskPublic:
    """Change some fields. Send `"description": null` to clear the description."""
    task = task_service.update_task(
        session=session, user_id=current_user.id, task=task, task_in=task_in
    )
    return TaskPublic.model_validate(task)


@router.put(
    "/{task_id}",
    summary="Replace a task",
    response_model=TaskPublic,
    dependencies=[Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS, 404),
)
def replace_task(
    task_in: TaskReplace, task: OwnedTask, session: SessionDep, current_user: CurrentUser
) -> TaskPublic:
    """Replace every client field; omitted optional fields return to their defaults."""
    task = task_service.replace_task(
        session=session, user_id=current_user.id, task=task, task_in=task_in
    )
    return TaskPublic.model_validate(task)


@router.delete(
    "/{task_id}",
    summary="Delete a task",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
)
def delete_task(task: OwnedTask, session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete a task."""
    task_service.delete_task(session=session, user_id=current_user.id, task_id=task.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{task_id}/complete",
    summary="Mark a task done",
    response_model=TaskPublic,
    responses=problem_responses(401, 404, 429),
)
def complete_task(task: OwnedTask, session: SessionDep, current_user: CurrentUser) -> TaskPublic:
    """Mark a task done. Safe to retry: completing a completed task changes nothing."""
    task = task_service.set_completed(
        session=session, user_id=current_user.id, task=task, completed=True
    )
    return TaskPublic.model_validate(task)


@router.post(
    "/{task_id}/reopen",
    summary="Mark a task not done",
    response_model=TaskPublic,
    responses=problem_responses(401, 404, 429),
)
def reopen_task(task: OwnedTask, session: SessionDep, current_user: CurrentUser) -> TaskPublic:
    """Mark a task not done. Safe to retry."""
    task = task_service.set_completed(
        session=session, user_id=current_user.id, task=task, completed=False
    )
    return TaskPublic.model_validate(task)
