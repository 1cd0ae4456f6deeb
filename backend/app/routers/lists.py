import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.core.errors import ListNotFound
from app.dependencies import CurrentUser, SessionDep, require_json, require_scope
from app.routers.safe_writes import (
    IF_MATCH,
    etag_header,
    etag_responses,
    if_match,
    merge_responses,
    precondition_responses,
)
from app.schemas.common import problem_responses
from app.schemas.task_list import ListCreate, ListPublic, ListUpdate
from app.services import lists as list_service
from app.services.lists import ListCounts

router = APIRouter(prefix="/api/v1/lists", tags=["lists"], responses=problem_responses(503))

_BODY_ERRORS = (400, 401, 409, 413, 415, 422, 429)


def _list_id(list_id: str) -> uuid.UUID:
    # A malformed id is answered like a missing one: 404, as for tasks.
    try:
        return uuid.UUID(list_id)
    except ValueError as exc:
        raise ListNotFound from exc


def _public(task_list: ListCounts) -> ListPublic:
    return ListPublic(**task_list._asdict())


@router.get(
    "",
    summary="List your lists",
    response_model=list[ListPublic],
    responses=problem_responses(401, 422, 429),
    dependencies=[require_scope("lists:read")],
)
def list_lists(
    session: SessionDep,
    current_user: CurrentUser,
    archived: Annotated[
        bool, Query(description="`true`: include archived lists (left out by default).")
    ] = False,
) -> list[ListPublic]:
    """Your lists by position, then name, each with its open and total task counts."""
    lists = list_service.list_lists(session=session, user_id=current_user.id, archived=archived)
    return [_public(task_list) for task_list in lists]


@router.post(
    "",
    summary="Create a list",
    status_code=status.HTTP_201_CREATED,
    response_model=ListPublic,
    dependencies=[require_scope("lists:write"), Depends(require_json)],
    responses=problem_responses(*_BODY_ERRORS),
)
def create_list(list_in: ListCreate, session: SessionDep, current_user: CurrentUser) -> ListPublic:
    """Create a list; 409 (naming the existing list's id) if you have one by that name."""
    task_list = list_service.create_list(session=session, user_id=current_user.id, list_in=list_in)
    return _public(task_list)


@router.get(
    "/{list_id}",
    summary="Get a list",
    response_model=ListPublic,
    responses=merge_responses(problem_responses(401, 404, 429), etag_responses(200)),
    dependencies=[require_scope("lists:read")],
)
def get_list(
    list_id: str, session: SessionDep, current_user: CurrentUser, response: Response
) -> ListPublic:
    """One of your lists, with its task counts; its version is the `ETag`."""
    task_list = list_service.get_list(
        session=session, user_id=current_user.id, list_id=_list_id(list_id)
    )
    response.headers.update(etag_header(task_list.version))
    return _public(task_list)


@router.patch(
    "/{list_id}",
    summary="Change a list",
    response_model=ListPublic,
    dependencies=[require_scope("lists:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(*_BODY_ERRORS, 404), precondition_responses(), etag_responses(200)
    ),
    openapi_extra={"parameters": [IF_MATCH]},
)
def update_list(
    list_id: str,
    list_in: ListUpdate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> ListPublic:
    """Rename, recolour, reorder or archive a list. The Inbox cannot be archived (409). With
    `If-Match`, only if the list is still at that version (else 412, nothing changed)."""
    task_list = list_service.update_list(
        session=session,
        user_id=current_user.id,
        list_id=_list_id(list_id),
        list_in=list_in,
        expected=if_match(request),
    )
    response.headers.update(etag_header(task_list.version))
    return _public(task_list)


@router.delete(
    "/{list_id}",
    summary="Delete a list",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=merge_responses(problem_responses(401, 404, 409, 422, 429), precondition_responses()),
    dependencies=[require_scope("lists:write")],
    openapi_extra={"parameters": [IF_MATCH]},
)
def delete_list(
    list_id: str,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    tasks: Annotated[
        Literal["inbox", "trash"] | None,
        Query(
            description=(
                "What happens to the list's tasks: `inbox` moves them to your Inbox, `trash` "
                "moves them to the trash. Without it, a list that holds tasks is a 409."
            )
        ),
    ] = None,
) -> Response:
    """Delete a list. The Inbox cannot be deleted (409)."""
    list_service.delete_list(
        session=session,
        user_id=current_user.id,
        list_id=_list_id(list_id),
        tasks=tasks,
        expected=if_match(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
