"""Personal access tokens: made and revoked by their owner after a login, never by a
personal token; listed with `account:read`."""

import uuid

from fastapi import APIRouter, Depends, Request, Response, status

from app.core.errors import PersonalTokenNotFound
from app.dependencies import (
    CurrentUser,
    SessionDep,
    forget_caller,
    login_required,
    require_json,
    require_scope,
)
from app.models import PersonalToken
from app.schemas.common import problem_responses
from app.schemas.personal_token import (
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenPublic,
)
from app.services import personal_tokens as token_service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=problem_responses(503))


def _public(row: PersonalToken) -> dict[str, object]:
    return {
        "id": row.id,
        "name": row.name,
        "scopes": sorted(row.scopes.split()),
        "last_four": row.last_four,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "last_used_at": row.last_used_at,
    }


def _token_uuid(token_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(token_id)
    except ValueError as exc:
        raise PersonalTokenNotFound from exc


@router.post(
    "",
    summary="Create a personal access token",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonalTokenCreated,
    dependencies=[login_required(), Depends(require_json)],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
)
def create_token(
    token_in: PersonalTokenCreate, session: SessionDep, current_user: CurrentUser
) -> PersonalTokenCreated:
    """Create a token for scripts and other services. The response is the only time the
    token itself is shown; only its hash is kept."""
    row, token = token_service.create_token(
        session=session, user_id=current_user.id, token_in=token_in
    )
    return PersonalTokenCreated.model_validate({**_public(row), "token": token})


@router.get(
    "",
    summary="List your personal access tokens",
    response_model=list[PersonalTokenPublic],
    dependencies=[require_scope("account:read")],
    responses=problem_responses(401, 403, 429),
)
def list_tokens(session: SessionDep, current_user: CurrentUser) -> list[PersonalTokenPublic]:
    """Your unrevoked tokens, newest first, expired ones included; never the tokens
    themselves."""
    rows = token_service.list_tokens(session=session, user_id=current_user.id)
    return [PersonalTokenPublic.model_validate(_public(row)) for row in rows]


@router.delete(
    "/{token_id}",
    summary="Revoke a personal access token",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[login_required()],
    responses=problem_responses(401, 403, 404, 429),
)
def revoke_token(
    token_id: str, session: SessionDep, current_user: CurrentUser, request: Request
) -> Response:
    """Revoke a token. It stops working at once on this server, and within a second on
    every other (see the security guide)."""
    token_service.revoke_token(
        session=session, user_id=current_user.id, token_id=_token_uuid(token_id)
    )
    forget_caller(request, current_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
