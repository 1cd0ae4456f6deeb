from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app.dependencies import CurrentUser, SessionDep, TaskId, require_scope, task_uuid
from app.routers.tasks import json_response
from app.schemas.common import problem_responses
from app.schemas.task import TaskPublic, task_document
from app.schemas.task_query import Cursor
from app.schemas.trash import TrashPage
from app.services import trash as trash_service
from app.services.tasks import TaskView

router = APIRouter(prefix="/api/v1/trash", tags=["trash"], responses=problem_responses(503))


def _trashed(view: TaskView, deleted_at: datetime) -> dict[str, Any]:
    return {**task_document(view.task, view.tags), "deleted_at": deleted_at}


@router.get(
    "",
    summary="List your trash",
    response_model=TrashPage,
    responses=problem_responses(400, 401, 422, 429),
    dependencies=[require_scope("tasks:read")],
)
def list_trash(
    session: SessionDep,
    current_user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    cursor: Annotated[
        Cursor | None, Query(description="`next_cursor` from the previous page.")
    ] = None,
) -> Response:
    """Your deleted tasks, most recently deleted first, a page at a time."""
    page, next_cursor = trash_service.list_trash(
        session=session, user_id=current_user.id, limit=limit, cursor=cursor
    )
    body = {"items": [_trashed(view, at) for view, at in page], "next_cursor": next_cursor}
    return json_response(session, body)


@router.post(
    "/{task_id}/restore",
    summary="Restore a task from the trash",
    response_model=TaskPublic,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("tasks:write")],
)
def restore_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """Put a deleted task back into its list (the Inbox if its list was deleted)."""
    view = trash_service.restore_task(
        session=session, user_id=current_user.id, task_id=task_uuid(task_id)
    )
    return json_response(session, task_document(view.task, view.tags))


@router.delete(
    "/{task_id}",
    summary="Delete a task in the trash for good",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("tasks:write")],
)
def purge_task(task_id: TaskId, session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete a task in the trash for good; it cannot be restored afterwards."""
    trash_service.purge_task(session=session, user_id=current_user.id, task_id=task_uuid(task_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "",
    summary="Empty your trash",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 429),
    dependencies=[require_scope("tasks:write")],
)
def empty_trash(session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete every task in your trash for good."""
    trash_service.empty_trash(session=session, user_id=current_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
