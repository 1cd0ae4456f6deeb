"""The Hackathon II contract, `/api/{user_id}/tasks...`, over the same services as /api/v1/tasks.

The path names the user, so it must be the token's own user: the provider's `sub` for provider
users, the account id for local ones. Anything else is refused (403, or 404 with
COMPAT_MISMATCH_STATUS=404) before a task is looked up, so the answer is the same whether the
other user exists or not.
"""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from pydantic import TypeAdapter

from app.core.callers import Caller
from app.core.errors import Forbidden, NotFound
from app.core.etags import strong_etag
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
from app.schemas.task import CompatTask, CompatTaskCreate, CompatTaskUpdate, CompleteRequest
from app.schemas.task_query import Cursor, TaskQuery
from app.services import completions as completion_service
from app.services import tasks as task_service
from app.services import trash as trash_service
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


_PAGE = TypeAdapter(list[CompatTask])


def _public(view: TaskView) -> CompatTask:
    return CompatTask.from_task(view.task, view.tags)


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
    dependencies=[require_scope("tasks:read")],
    response_model=list[CompatTask],
    responses=merge_responses(
        problem_responses(400, 401, 422, *_MISMATCH), not_modified_responses(200, weak=True)
    ),
    openapi_extra={"parameters": [IF_NONE_MATCH]},
)
def compat_list_tasks(
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
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
) -> Response:
    """List your tasks as a plain array; a `Link: <...>; rel="next"` header means more."""
    query = TaskQuery(
        completed=_STATUS_FILTER[status_filter], sort=_SORTS[sort], limit=limit, cursor=cursor
    )
    views, next_cursor = task_service.list_tasks(
        session=session, user_id=current_user.id, query=query, zone=current_user.timezone
    )
    headers = {}
    if next_cursor is not None:
        next_url = request.url.include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    content = _PAGE.dump_json([_public(view) for view in views])
    return json_with_weak_etag(request, content, **headers)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CompatTask,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 413, 415, 422, *_MISMATCH),
        etag_responses(201),
        idempotency_responses(201),
    ),
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
def compat_create_task(
    user_id: str,
    task_in: CompatTaskCreate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Create a task. The `Location` header points at it. Safe to retry with an
    `Idempotency-Key`."""

    def create() -> Response:
        view = task_service.create_task(session=session, user_id=current_user.id, task_in=task_in)
        location = request.url_for("compat_get_task", user_id=user_id, task_id=str(view.task.id))
        headers = {"Location": str(location.path), **etag_header(view.task.version)}
        content = _public(view).model_dump_json().encode()
        return Response(content, status.HTTP_201_CREATED, headers, media_type="application/json")

    return idempotent(request, session, current_user.id, task_in, create)


@router.get(
    "/{task_id}",
    dependencies=[require_scope("tasks:read")],
    response_model=CompatTask,
    responses=merge_responses(problem_responses(401, 404, *_MISMATCH), not_modified_responses(200)),
    openapi_extra={"parameters": [IF_NONE_MATCH]},
)
def compat_get_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> CompatTask | Response:
    """One of your tasks, with its version as the `ETag`."""
    view = task_service.get_task_view(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    unchanged = not_modified(request, strong_etag(view.task.version))
    if unchanged is not None:
        return unchanged
    response.headers.update(etag_header(view.task.version))
    return _public(view)


@router.put(
    "/{task_id}",
    response_model=CompatTask,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 404, 413, 415, 422, *_MISMATCH),
        precondition_responses(),
        etag_responses(200),
    ),
    openapi_extra={"parameters": [IF_MATCH]},
)
def compat_update_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    task_in: CompatTaskUpdate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> CompatTask:
    """Update a task: the fields sent change, the others stay (like PATCH /api/v1/tasks/{id})."""
    # One UPDATE of the caller's task; no read first (a missing task matches nothing: 404).
    view = task_service.update_task(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        task_in=task_in,
        expected=if_match(request),
        zone=current_user.timezone,
    )
    response.headers.update(etag_header(view.task.version))
    return _public(view)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("tasks:write")],
    responses=merge_responses(problem_responses(401, 404, *_MISMATCH), precondition_responses()),
    openapi_extra={"parameters": [IF_MATCH]},
)
def compat_delete_task(
    user_id: str,  # checked by require_path_user; declared so the contract lists it first
    task_id: TaskId,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
) -> Response:
    """Delete a task (it goes to the trash, like DELETE /api/v1/tasks/{id})."""
    trash_service.trash_task(
        session=session,
        user_id=current_user.id,
        task_id=task_uuid(task_id),
        expected=if_match(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/{task_id}/complete",
    response_model=CompatTask,
    dependencies=[require_scope("tasks:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 404, 413, 415, 422, *_MISMATCH),
        precondition_responses(),
        etag_responses(200),
    ),
    openapi_extra={"parameters": [IF_MATCH]},
)
def compat_complete_task(
    task: OwnedTask,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
    body: Annotated[CompleteRequest | None, Body()] = None,
) -> CompatTask:
    """No body: toggle completion. `{"completed": true|false}`: set it (safe to retry)."""
    completed = (not task.completed) if body is None else body.completed
    expected = if_match(request)
    if completed:
        # A recurring task moves on to its next occurrence, as through /api/v1.
        view = completion_service.complete_task(
            session=session,
            user_id=current_user.id,
            task_id=task.id,
            zone=current_user.timezone,
            expected=expected,
        )
    else:
        view = task_service.set_completed(
            session=session,
            user_id=current_user.id,
            task_id=task.id,
            completed=False,
            expected=expected,
        )
    response.headers.update(etag_header(view.task.version))
    return _public(view)
