from fastapi import APIRouter, Depends, Request, Response, status

from app.dependencies import (
    CurrentUser,
    PasswordHashDep,
    SessionDep,
    SettingsDep,
    forget_caller,
    limit_password_attempts,
    login_required,
    require_json,
    require_scope,
)
from app.schemas.auth import TokenPair
from app.schemas.common import problem_responses
from app.schemas.user import PasswordChange, UserPublic, UserUpdate
from app.services import auth as auth_service
from app.services import users as user_service

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=problem_responses(503))


@router.get(
    "/me",
    summary="Get your profile",
    response_model=UserPublic,
    dependencies=[require_scope("account:read")],
    responses=problem_responses(401, 429),
)
def get_me(session: SessionDep, current_user: CurrentUser) -> UserPublic:
    """The signed-in user's profile."""
    return UserPublic.model_validate(
        user_service.require_user(session=session, user_id=current_user.id)
    )


@router.patch(
    "/me",
    summary="Update your profile",
    response_model=UserPublic,
    dependencies=[login_required(), Depends(require_json)],
    responses=problem_responses(400, 401, 413, 415, 422, 429),
)
def update_me(
    user_in: UserUpdate, session: SessionDep, current_user: CurrentUser, request: Request
) -> UserPublic:
    """Change the signed-in user's profile: the name and the time zone."""
    user = user_service.require_user(session=session, user_id=current_user.id)
    user = user_service.update_user(session=session, user=user, user_in=user_in)
    forget_caller(request, current_user.id)  # the time zone is part of what is remembered
    return UserPublic.model_validate(user)


@router.delete(
    "/me",
    summary="Delete your account",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[login_required()],
    responses=problem_responses(401, 429),
)
def delete_me(session: SessionDep, current_user: CurrentUser, request: Request) -> Response:
    """Delete the account with all its tasks and tokens. This cannot be undone."""
    user_service.delete_user(session=session, user_id=current_user.id)
    forget_caller(request, current_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/password",
    response_model=TokenPair,
    dependencies=[login_required(), Depends(limit_password_attempts), Depends(require_json)],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
)
def change_password(
    body: PasswordChange,
    session: SessionDep,
    settings: SettingsDep,
    password_hash: PasswordHashDep,
    current_user: CurrentUser,
    request: Request,
) -> TokenPair:
    """Change the password. Every other session ends; the response is this client's new pair."""
    pair = auth_service.change_password(
        session=session,
        user=user_service.require_user(session=session, user_id=current_user.id),
        current_password=body.current_password,
        new_password=body.new_password,
        password_hash=password_hash,
        settings=settings,
        revoke_tokens=body.revoke_tokens,
    )
    forget_caller(request, current_user.id)
    return pair
