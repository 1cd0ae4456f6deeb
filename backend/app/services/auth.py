"""Token pairs: minting, refresh-token rotation with reuse detection, and revocation."""

import logging
import uuid
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.core.config import Settings
from app.core.errors import InvalidRefreshToken, ProviderAccount
from app.core.security import create_access_token, hash_refresh_token, new_refresh_token
from app.database import bind_session_to_refresh_token, bind_session_to_user
from app.models import RefreshToken, User
from app.models.base import utcnow
from app.schemas.auth import TokenPair
from app.services import personal_tokens as token_service
from app.services import users as user_service

# Security events go to their own logger so operators can route and alert on them.
security_log = logging.getLogger("app.security")


def issue_token_pair(
    *, session: Session, user: User, settings: Settings, family_id: uuid.UUID | None = None
) -> TokenPair:
    bind_session_to_user(session, user.id)
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
    bind_session_to_refresh_token(session, token_hash)
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
        _handle_rejected_refresh(session=session, token_hash=token_hash, settings=settings)
        raise InvalidRefreshToken
    user = session.get(User, row.user_id)
    if user is None:
        session.rollback()
        raise InvalidRefreshToken
    return issue_token_pair(session=session, user=user, settings=settings, family_id=row.family_id)


def _handle_rejected_refresh(*, session: Session, token_hash: str, settings: Settings) -> None:
    """A refused refresh token that was once valid and already rotated is a replay: someone
    holds a copy. Revoke its whole family so both the thief and the victim must log in again.
    """
    token = session.exec(
        select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash)
    ).first()
    if token is None or token.revoked_at is None:
        return  # unknown or merely expired: nothing was stolen that still works
    since_revoked = utcnow() - token.revoked_at
    if since_revoked <= timedelta(seconds=settings.refresh_reuse_grace_seconds):
        # The benign race: two requests (tabs, retries) refreshed with the same token at
        # once; the loser arrives right after the winner rotated it. Refuse it, but do not
        # log everyone out.
        security_log.info(
            "refresh token replayed within the grace period; family kept",
            extra={
                "event": "refresh_token_race",
                "user_id": str(token.user_id),
                "family_id": str(token.family_id),
            },
        )
        session.rollback()
        return
    bind_session_to_user(session, token.user_id)
    revoked = revoke_family(session=session, family_id=token.family_id, user_id=token.user_id)
    security_log.warning(
        "refresh token reuse detected; token family revoked",
        extra={
            "event": "refresh_token_reuse",
            "user_id": str(token.user_id),
            "family_id": str(token.family_id),
            "revoked_tokens": revoked,
        },
    )


def revoke_family(*, session: Session, family_id: uuid.UUID, user_id: uuid.UUID) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.family_id) == family_id,
            col(RefreshToken.user_id) == user_id,
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))


def revoke_refresh_token(*, session: Session, refresh_token: str) -> None:
    """Revoke one refresh token. Unknown or already revoked tokens are not an error."""
    token_hash = hash_refresh_token(refresh_token)
    bind_session_to_refresh_token(session, token_hash)
    session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == token_hash,
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()


def bump_token_version(*, session: Session, user: User) -> None:
    """Revoke every refresh token and invalidate every access token minted so far.
    The caller commits (together with whatever else changed, e.g. the password)."""
    bind_session_to_user(session, user.id)
    now = utcnow()
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    # Incremented in SQL, so two concurrent bumps both count.
    version = session.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(token_version=col(User.token_version) + 1, updated_at=now)
        .returning(col(User.token_version))
    ).scalar_one()
    user.token_version = version
    user.updated_at = now


def revoke_all_sessions(*, session: Session, user: User, revoke_tokens: bool = False) -> None:
    """Log the user out everywhere: every refresh token is revoked and every access token
    minted so far stops working (its `ver` claim no longer matches); with `revoke_tokens`,
    every personal access token too."""
    if user.auth_issuer:
        # Provider tokens carry no `ver` and are not ours to revoke: saying 204 would lie.
        raise ProviderAccount(
            "This account's sessions are managed by its identity provider; sign out there."
        )
    bump_token_version(session=session, user=user)
    revoked = (
        token_service.revoke_all_tokens(session=session, user_id=user.id) if revoke_tokens else 0
    )
    session.commit()
    security_log.info(
        "all sessions revoked",
        extra={"event": "logout_all", "user_id": str(user.id), "revoked_personal_tokens": revoked},
    )


def change_password(
    *,
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    password_hash: PasswordHash,
    settings: Settings,
    revoke_tokens: bool = False,
) -> TokenPair:
    """New password; every other session (refresh and access tokens) ends. The caller gets
    a fresh pair so this client stays signed in."""
    user_service.change_password(
        session=session,
        user=user,
        current_password=current_password,
        new_password=new_password,
        password_hash=password_hash,
    )
    bump_token_version(session=session, user=user)
    revoked = (
        token_service.revoke_all_tokens(session=session, user_id=user.id) if revoke_tokens else 0
    )
    session.commit()
    security_log.info(
        "password changed; other sessions revoked",
        extra={
            "event": "password_changed",
            "user_id": str(user.id),
            "revoked_personal_tokens": revoked,
        },
    )
    return issue_token_pair(session=session, user=user, settings=settings)
