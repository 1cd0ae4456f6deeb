"""The Hackathon II contract, `/api/{user_id}/tasks...`, over the same services as /api/v1/tasks.

The path names the user, so it must be the token's own user: the provider's `sub` for provider
users, the account id for local ones. Anything else is refused (403, or 404 with
COMPAT_MISMATCH_STATUS=404) before a task is looked up, so the answer is the same whether the
other user exists or not.
"""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status

from app.core.callers import Caller
from app.core.errors import Forbidden, NotFound
from app.dependencies import (
    CurrentUser,
    OwnedTask,
    SessionDep,
    SettingsDep,
    TaskId,
    require_json,
    require_scope,
    task_uuid,
)
from app.schemas.common import problem_responses
from app.schemas.task import CompleteRequest, TaskCreate, TaskPublic, TaskUpdate
from app.schemas.task_query import Cursor, TaskQuery
from app.services import tasks as task_service
from app.services.tasks import TaskView

TAG = "hackathon-compat"
TAG_DESCRIPTION = (
    "Compatibility surface for frontends written against the Hackathon II contract "
    "(`/api/{user_id}/tasks`). Same data, rules and isolation as `/api/v1/tasks`; "
    "`{user_id}` must be the signed-in user (the token's `sub`). "
    "New clients should use `/api/v1`. Off with `COMPAT_ROUTES_ENABLED=false`."
)

_STATUS_FILTER: dict[str, bool | None] = {"all": None, "pending": False, "completed": True}
_MISMATCH = (403, 404)
# The spec's sort names, as /api/v1/tasks sort keys (ties broken by id there).
_SORTS = {"created": "-created_at", "title": "title", "due_date": "due"}


def _public(view: TaskView) -> TaskPublic:
    return TaskPublic.from_task(view.task, view.tags)


def path_user_id(user: Caller) -> str:
    """What `{user_id}` must be: the provider's subject, or the local account id."""
    return user.auth_subject if user.auth_subject is not None else str(user.id)


def _same_user(user_id: str, user: Caller) -> bool:
    if user.auth_subject is not None:
        return user_id == user.auth_subject
    try:
        return uuid.UUID(user_id) == user.id
    except ValueError:
        return False


def require_path_user(user_id: str, current_user: CurrentUser, settings: SettingsDep) -> None:
    if not _same_user(user_id, current_user):
        raise NotFound if settings.compat_mismatch_status == 404 else Forbidden


# Router-level dependencies run before the handler's own, so no task is read on a mismatch.
router = APIRouter(
    prefix="/api/{user_id}/tasks",
    tags=[TAG],
    dependencies=[Depends(require_path_user)],
    # The per-user rate limit counts these routes too.
    responses=problem_responses(429, 503),
)


@router.get(
    "",
    response_model=list[TaskPublic],
    dependencies=[require_scope("tasks:read")],
    responses=problem_responses(400, 401, 422, *_MISMATCH),
)
def compat_list_tasks(
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
    status_filter: Annotated[
        Literal["all", "pending", "completed"], Query(alias="status", description="Filter.")
    ] = "all",
    sort: Annotated[
        Literal["created", "title", "due_date"],
        Query(
            description=(
                "`created`: newest first; `title`: A to Z (case-insensitive); "
                "`due_date`: soonest due first, tasks without a due date last."
            )
        ),
    ] = "created",
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 100,
    cursor: Annotated[Cursor | None, Query(description="From the `Link: rel=next` header.")] = None,
) -> list[TaskPublic]:
    """List your tasks as a plain array; a `Link: <...>; rel="next"` header means more."""
    query = TaskQuery(
        completed=_STATUS_FILTER[status_filter], sort=_SORTS[sort], limit=limit, cursor=cursor
    )
    views, next_cursor = task_service.list_tasks(
        session=session, user_id=current_user.id, query=query, zone=current_user.timezone
    )
    if next_cursor is not None:
        next_url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    return [_public(view) for view in views]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(400, 401, 413, 415, 422, *_MISMATCH),
)
def compat_create_task(
    user_id: str,
    task_in: TaskCreate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> TaskPublic:
    """Create a task. The `Location` header points at it."""
    view = task_service.create_task(session=session, user_id=current_user.id, task_in=task_in)
    location = request.url_for("compat_get_task", user_id=user_id, task_id=str(view.task.id))
    response.headers["Location"] = str(location.path)
    return _public(view)


@router.get(
    "/{task_id}",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:read")],
    responses=problem_responses(401, 404, *_MISMATCH),
)
def compat_get_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
) -> TaskPublic:
    """One of your tasks."""
    view = task_service.get_task_view(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    return _public(view)


@router.put(
    "/{task_id}",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, *_MISMATCH),
)
def compat_update_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    task_in: TaskUpdate,
    session: SessionDep,
    current_user: CurrentUser,
) -> TaskPublic:
    """Update a task: the fields sent change, the others stay (like PATCH /api/v1/tasks/{id})."""
    # One UPDATE of the caller's task; no read first (a missing task matches nothing: 404).
    view = task_service.update_task(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id), task_in=task_in
    )
    return _public(view)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("tasks:write")],
    responses=problem_responses(401, 404, *_MISMATCH),
)
def compat_delete_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
) -> Response:
    """Delete a task."""
    task_service.delete_task(session=session, user_id=current_user.id, task_id=task_uuid(task_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/{task_id}/complete",
    response_model=TaskPublic,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, *_MISMATCH),
)
def compat_complete_task(
    task: OwnedTask,
    session: SessionDep,
    current_user: CurrentUser,
    body: Annotated[CompleteRequest | None, Body()] = None,
) -> TaskPublic:
    """No body: toggle completion. `{"completed": true|false}`: set it (safe to retry)."""
    completed = (not task.completed) if body is None else body.completed
    view = task_service.set_completed(
        session=session, user_id=current_user.id, task_id=task.id, completed=completed
    )
    return _public(view)
