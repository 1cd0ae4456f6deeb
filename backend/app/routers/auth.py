from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from app.dependencies import (
    CurrentUser,
    LoginForm,
    PasswordHashDep,
    SessionDep,
    SettingsDep,
    forget_caller,
    limit_login,
    limit_register,
    login_required,
    require_json,
)
from app.schemas.auth import LogoutAllRequest, RefreshRequest, TokenPair
from app.schemas.common import problem_responses
from app.schemas.user import UserCreate, UserPublic
from app.services import auth as auth_service
from app.services import users as user_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=problem_responses(503))


@router.post(
    "/register",
    summary="Create an account",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    dependencies=[Depends(limit_register), Depends(require_json)],
    responses=problem_responses(400, 409, 413, 415, 422, 429),
)
def register(
    user_in: UserCreate, session: SessionDep, password_hash: PasswordHashDep
) -> UserPublic:
    """Create an account. Emails are unique regardless of case."""
    user = user_service.register_user(session=session, user_in=user_in, password_hash=password_hash)
    return UserPublic.model_validate(user)


@router.post(
    "/token",
    summary="Log in (get a token pair)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "grant_type": "password",
                        "username": "ada@example.com",
                        "password": "correct horse battery",
                    }
                }
            }
        }
    },
    response_model=TokenPair,
    dependencies=[Depends(limit_login)],
    responses=problem_responses(401, 413, 422, 429),
)
def login(
    form: Annotated[LoginForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    password_hash: PasswordHashDep,
) -> TokenPair:
    """Log in with the OAuth2 password grant (form fields `username` = email, `password`)."""
    user = user_service.authenticate(
        session=session, email=form.username, password=form.password, password_hash=password_hash
    )
    return auth_service.issue_token_pair(session=session, user=user, settings=settings)


@router.post(
    "/refresh",
    summary="Refresh the token pair",
    response_model=TokenPair,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 401, 413, 415, 422),
)
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Trade a refresh token for a new pair. The old refresh token stops working."""
    return auth_service.rotate_refresh_token(
        session=session, refresh_token=body.refresh_token, settings=settings
    )


@router.post(
    "/logout",
    summary="Log out (revoke a refresh token)",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 413, 415, 422),
)
def logout(body: RefreshRequest, session: SessionDep) -> Response:
    """Revoke a refresh token. Succeeds even if it was already revoked."""
    auth_service.revoke_refresh_token(session=session, refresh_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    summary="Log out everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[login_required(), Depends(require_json)],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
)
def logout_all(
    session: SessionDep,
    current_user: CurrentUser,
    request: Request,
    body: LogoutAllRequest | None = None,
) -> Response:
    """Log out everywhere: revoke every refresh token and every access token issued so far,
    and every personal access token too with `{"revoke_tokens": true}` (the body is
    optional)."""
    user = user_service.require_user(session=session, user_id=current_user.id)
    revoke_tokens = body is not None and body.revoke_tokens
    auth_service.revoke_all_sessions(session=session, user=user, revoke_tokens=revoke_tokens)
    forget_caller(request, current_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
