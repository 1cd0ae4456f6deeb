"""GET /api/v1/changes: the change feed (a snapshot, then what changed since)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.dependencies import CurrentUser, SessionDep, SettingsDep, require_scope
from app.routers.tasks import json_response
from app.schemas.change import ChangePage, FeedCursor
from app.schemas.common import problem_responses
from app.services import changes as change_service

router = APIRouter(prefix="/api/v1/changes", tags=["sync"], responses=problem_responses(503))

# A personal token needs tasks:read, and sees lists and tags only with lists:read, tags:read.
READ_FEED = [require_scope("tasks:read")]


@router.get(
    "",
    summary="Get what changed since a cursor",
    response_model=ChangePage,
    responses=problem_responses(400, 401, 410, 422, 429),
    dependencies=READ_FEED,
)
def list_changes(
    session: SessionDep,
    current_user: CurrentUser,
    settings: SettingsDep,
    since: Annotated[
        FeedCursor | None,
        Query(description="`cursor` from the previous page; leave out to start with a snapshot."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500.")] = 100,
) -> Response:
    """Without `since`: a snapshot of your live tasks, lists and tags, a page at a time.
    With it: every one created or changed since (as it is now) and a tombstone for every
    one deleted, trashed or purged, oldest first. Keep calling with `cursor` while
    `has_more`; a cursor older than TOMBSTONE_RETENTION_DAYS is 410: start again. A
    personal access token sees lists with `lists:read` and tags with `tags:read` only."""
    page = change_service.changes_page(
        session=session,
        user_id=current_user.id,
        since=since,
        limit=limit,
        retention_days=settings.tombstone_retention_days,
        kinds=change_service.readable_kinds(current_user.scopes),
    )
    body = {
        "changes": page.changes,
        "cursor": page.cursor,
        "has_more": page.has_more,
        "reset": page.reset,
    }
    return json_response(session, body)
