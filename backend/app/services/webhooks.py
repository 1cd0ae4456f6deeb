"""Webhooks: create, list, change, delete, rotate the secret. Every query is scoped by user_id.

A URL is checked when it is set (`check_url`: the scheme, then every address the host
resolves to) and again by the delivery worker before each attempt (app.core.outbound), since
where a name points can change. After a change that can make a user's first webhook appear or
their last one go, this process forgets its cached answer (app.services.outbox.SUBSCRIBERS).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.errors import UnsafeWebhookUrl, WebhookNotFound
from app.core.ssrf import (
    RefusedAddress,
    Resolver,
    UnresolvableHost,
    UnsafeUrl,
    parse_target,
    refuse_non_public,
    resolve,
    system_resolver,
)
from app.core.webhook_signing import ROTATION_OVERLAP, generate_secret
from app.models import Webhook
from app.models.base import utcnow
from app.schemas.webhook import WebhookCreate, WebhookUpdate
from app.services.outbox import SUBSCRIBERS, subscriptions_changed


@dataclass(frozen=True)
class UrlRules:
    """Which webhook URLs are accepted: from the settings, and a resolver tests can replace."""

    allow_http: bool
    allow_private: bool
    resolver: Resolver = system_resolver


def check_url(url: str, rules: UrlRules) -> None:
    """Raise UnsafeWebhookUrl (422) for a URL deliveries may not go to, saying why."""
    try:
        target = parse_target(url, allow_http=rules.allow_http)
        if rules.allow_private:
            return
        refuse_non_public(target, resolve(target, rules.resolver))
    except (UnsafeUrl, UnresolvableHost, RefusedAddress) as exc:
        raise UnsafeWebhookUrl(str(exc)) from None


def previous_secret_expires_at(webhook: Webhook, now: datetime | None = None) -> datetime | None:
    """Until when the previous secret still signs; None when it no longer does."""
    if webhook.previous_secret is None or webhook.rotated_at is None:
        return None
    expires = webhook.rotated_at + ROTATION_OVERLAP
    return expires if expires > (now or utcnow()) else None


def create_webhook(
    *, session: Session, user_id: uuid.UUID, webhook_in: WebhookCreate, rules: UrlRules
) -> Webhook:
    """A new enabled webhook with a fresh secret (the caller shows it once)."""
    check_url(webhook_in.url, rules)
    now = utcnow()
    webhook = Webhook(
        user_id=user_id,
        url=webhook_in.url,
        events=list(webhook_in.events),
        description=webhook_in.description,
        secret=generate_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(webhook)
    subscriptions_changed(session=session, user_id=user_id)
    session.commit()
    SUBSCRIBERS.forget(user_id)
    return webhook


def list_webhooks(*, session: Session, user_id: uuid.UUID) -> list[Webhook]:
    """The user's webhooks, oldest first."""
    statement = (
        select(Webhook)
        .where(col(Webhook.user_id) == user_id)
        .order_by(col(Webhook.created_at), col(Webhook.id))
    )
    return list(session.scalars(statement))


def get_webhook(
    *, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID, for_update: bool = False
) -> Webhook:
    """The user's webhook; WebhookNotFound for a missing one and another user's alike."""
    statement = select(Webhook).where(
        col(Webhook.id) == webhook_id, col(Webhook.user_id) == user_id
    )
    if for_update:
        statement = statement.with_for_update()
    webhook = session.scalars(statement).first()
    if webhook is None:
        raise WebhookNotFound
    return webhook


def update_webhook(
    *,
    session: Session,
    user_id: uuid.UUID,
    webhook_id: uuid.UUID,
    webhook_in: WebhookUpdate,
    rules: UrlRules,
) -> Webhook:
    """Change the fields sent. Enabling a disabled webhook clears its reason and count."""
    changes = webhook_in.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        check_url(changes["url"], rules)
    webhook = get_webhook(session=session, user_id=user_id, webhook_id=webhook_id, for_update=True)
    now = utcnow()
    if changes.get("url") is not None:
        webhook.url = changes["url"]
    if changes.get("events") is not None:
        webhook.events = list(changes["events"])
    if "description" in changes:
        webhook.description = changes["description"]
    enabled = changes.get("enabled")
    if enabled is True and not webhook.enabled:
        webhook.enabled = True
        webhook.disabled_reason = None
        webhook.disabled_at = None
        webhook.consecutive_failures = 0
    elif enabled is False and webhook.enabled:
        webhook.enabled = False
        webhook.disabled_reason = "disabled by its owner"
        webhook.disabled_at = now
    webhook.updated_at = now
    session.add(webhook)
    subscriptions_changed(session=session, user_id=user_id)
    session.commit()
    SUBSCRIBERS.forget(user_id)
    return webhook


def delete_webhook(*, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Delete the webhook and its deliveries (pending ones are never sent)."""
    webhook = get_webhook(session=session, user_id=user_id, webhook_id=webhook_id)
    session.delete(webhook)
    subscriptions_changed(session=session, user_id=user_id)
    session.commit()
    SUBSCRIBERS.forget(user_id)


def rotate_secret(*, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    """A new current secret; the old one signs beside it for 24 hours. Rotating again within
    those hours retires the oldest at once (only two secrets sign at any time)."""
    webhook = get_webhook(session=session, user_id=user_id, webhook_id=webhook_id, for_update=True)
    now = utcnow()
    webhook.previous_secret = webhook.secret
    webhook.secret = generate_secret()
    webhook.rotated_at = now
    webhook.updated_at = now
    session.add(webhook)
    session.commit()
    return webhook
