import uuid

from fastapi import APIRouter, Depends, Request, Response, status

from app.core.errors import TagNotFound
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
from app.schemas.tag import TagPublic, TagUpdate
from app.services import tags as tag_service
from app.services.tags import TagCounts

router = APIRouter(prefix="/api/v1/tags", tags=["tags"], responses=problem_responses(503))


def _tag_id(tag_id: str) -> uuid.UUID:
    # A malformed id is answered like a missing one: 404, as for tasks.
    try:
        return uuid.UUID(tag_id)
    except ValueError as exc:
        raise TagNotFound from exc


def _public(tag: TagCounts) -> TagPublic:
    return TagPublic(
        id=tag.id,
        name=tag.name,
        open_tasks=tag.open_tasks,
        total_tasks=tag.total_tasks,
        created_at=tag.created_at,
        version=tag.version,
    )


@router.get(
    "",
    summary="List your tags",
    response_model=list[TagPublic],
    dependencies=[require_scope("tags:read")],
    responses=problem_responses(401, 429),
)
def list_tags(session: SessionDep, current_user: CurrentUser) -> list[TagPublic]:
    """Your tags, by name, each with its open and total task counts."""
    return [_public(tag) for tag in tag_service.list_tags(session=session, user_id=current_user.id)]


@router.patch(
    "/{tag_id}",
    summary="Rename a tag",
    response_model=TagPublic,
    dependencies=[require_scope("tags:write"), Depends(require_json)],
    responses=merge_responses(
        problem_responses(400, 401, 404, 409, 413, 415, 422, 429),
        precondition_responses(),
        etag_responses(200),
    ),
    openapi_extra={"parameters": [IF_MATCH]},
)
def update_tag(
    tag_id: str,
    tag_in: TagUpdate,
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    response: Response,
) -> TagPublic:
    """Rename a tag. Every task carrying it shows the new name; 409 if you have that name.
    With `If-Match`, only if the tag is still at that version (else 412)."""
    tag = tag_service.rename_tag(
        session=session,
        user_id=current_user.id,
        tag_id=_tag_id(tag_id),
        name=tag_in.name,
        expected=if_match(request),
    )
    response.headers.update(etag_header(tag.version))
    return _public(tag)


@router.delete(
    "/{tag_id}",
    summary="Delete a tag",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_scope("tags:write")],
    responses=merge_responses(problem_responses(401, 404, 429), precondition_responses()),
    openapi_extra={"parameters": [IF_MATCH]},
)
def delete_tag(
    tag_id: str, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Delete a tag: it leaves every task; the tasks stay. With `If-Match`, only if the tag
    is still at that version (else 412)."""
    tag_service.delete_tag(
        session=session,
        user_id=current_user.id,
        tag_id=_tag_id(tag_id),
        expected=if_match(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
