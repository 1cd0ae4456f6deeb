"""Token pairs: minting, refresh-token rotation and revocation."""

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.errors import InvalidRefreshToken
from app.core.security import create_access_token, hash_refresh_token, new_refresh_token
from app.models import RefreshToken, User
from app.models.base import utcnow
from app.schemas.auth import TokenPair


def issue_token_pair(
    *, session: Session, user: User, settings: Settings, family_id: uuid.UUID | None = None
) -> TokenPair:
    now = utcnow()
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_refresh_token(refresh),
            family_id=family_id or uuid.uuid4(),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_expire_days),
        )
    )
    session.commit()
    access = create_access_token(
        user_id=user.id, token_version=user.token_version, settings=settings, now=now
    )
    return TokenPair(
        access_token=access,
        expires_in=settings.access_token_expire_minutes * 60,
        refresh_token=refresh,
    )


def rotate_refresh_token(*, session: Session, refresh_token: str, settings: Settings) -> TokenPair:
    now = utcnow()
    token_hash = hash_refresh_token(refresh_token)
    # Revoke and read in one statement: of two concurrent refreshes with the same token,
    # exactly one wins.
    row = session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == token_hash,
            col(RefreshToken.revoked_at).is_(None),
            col(RefreshToken.expires_at) > now,
        )
        .values(revoked_at=now)
        .returning(col(RefreshToken.user_id), col(RefreshToken.family_id))
    ).first()
    if row is None:
        session.rollback()
        raise InvalidRefreshToken
    user = session.get(User, row.user_id)
    if user is None:
        session.rollback()
        raise InvalidRefreshToken
    return issue_token_pair(session=session, user=user, settings=settings, family_id=row.family_id)


def revoke_refresh_token(*, session: Session, refresh_token: str) -> None:
    """Revoke one refresh token. Unknown or already revoked tokens are not an error."""
    session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == hash_refresh_token(refresh_token),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
