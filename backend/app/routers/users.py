from fastapi import APIRouter, Depends, Response, status

from app.dependencies import CurrentUser, SessionDep, require_json
from app.schemas.common import problem_responses
from app.schemas.user import UserPublic, UserUpdate
from app.services import users as user_service

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=problem_responses(503))


@router.get("/me", response_model=UserPublic, responses=problem_responses(401))
def get_me(current_user: CurrentUser) -> UserPublic:
    """The signed-in user's profile."""
    return UserPublic.model_validate(current_user)


@router.patch(
    "/me",
    response_model=UserPublic,
    dependencies=[Depends(require_json)],
    responses=problem_responses(400, 401, 413, 415, 422),
)
def update_me(user_in: UserUpdate, session: SessionDep, current_user: CurrentUser) -> UserPublic:
    """Change the signed-in user's profile (the name)."""
    user = user_service.update_user(session=session, user=current_user, user_in=user_in)
    return UserPublic.model_validate(user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
def delete_me(session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete the account with all its tasks and tokens. This cannot be undone."""
    user_service.delete_user(session=session, user_id=current_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
