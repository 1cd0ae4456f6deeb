import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.core.config import Settings
from app.core.errors import WebhookNotFound
from app.core.ssrf import Resolver, system_resolver
from app.dependencies import CurrentUser, SessionDep, get_settings, require_json, require_scope
from app.models import Webhook
from app.schemas.common import problem_responses
from app.schemas.webhook import (
    AttemptPublic,
    DeliveryPublic,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from app.services import webhook_deliveries as delivery_service
from app.services import webhooks as webhook_service
from app.services.webhook_deliveries import DeliveryView
from app.services.webhooks import UrlRules, previous_secret_expires_at

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=problem_responses(503))


def _webhook_id(webhook_id: str) -> uuid.UUID:
    # A malformed id is answered like a missing one: 404, as for tasks.
    try:
        return uuid.UUID(webhook_id)
    except ValueError as exc:
        raise WebhookNotFound from exc


def url_rules(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> UrlRules:
    """The URL rules from the settings; tests put their own resolver in app.state."""
    resolver: Resolver = getattr(request.app.state, "webhook_resolver", system_resolver)
    return UrlRules(
        allow_http=settings.webhook_allow_http,
        allow_private=settings.webhook_allow_private,
        resolver=resolver,
    )


UrlRulesDep = Annotated[UrlRules, Depends(url_rules)]


def _public(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "description": webhook.description,
        "enabled": webhook.enabled,
        "disabled_reason": webhook.disabled_reason,
        "disabled_at": webhook.disabled_at,
        "consecutive_failures": webhook.consecutive_failures,
        "secret_rotated_at": webhook.rotated_at,
        "previous_secret_expires_at": previous_secret_expires_at(webhook),
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
    }


def _delivery(view: DeliveryView) -> DeliveryPublic:
    delivery = view.delivery
    return DeliveryPublic(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event_type=delivery.event_type,
        status=delivery.status,  # type: ignore[arg-type]
        attempt_count=delivery.attempts,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        delivered_at=delivery.delivered_at,
        payload=orjson.loads(delivery.payload),
        attempts=[
            AttemptPublic(
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                failure=attempt.failure,
                detail=attempt.detail,
                duration_ms=attempt.duration_ms,
                response_excerpt=attempt.response_excerpt,
            )
            for attempt in view.attempts
        ],
    )


@router.post(
    "",
    summary="Create a webhook",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_scope("webhooks:manage"), Depends(require_json)],
    responses=problem_responses(400, 401, 413, 415, 422, 429),
)
def create_webhook(
    webhook_in: WebhookCreate,
    response: Response,
    session: SessionDep,
    current_user: CurrentUser,
    rules: UrlRulesDep,
) -> WebhookCreated:
    """Subscribe a URL to events. The answer holds the signing secret, shown this once."""
    webhook = webhook_service.create_webhook(
        session=session, user_id=current_user.id, webhook_in=webhook_in, rules=rules
    )
    response.headers["Location"] = f"{router.prefix}/{webhook.id}"
    return WebhookCreated(**_public(webhook), secret=webhook.secret)


@router.get(
    "",
    summary="List your webhooks",
    response_model=list[WebhookPublic],
    responses=problem_responses(401, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def list_webhooks(session: SessionDep, current_user: CurrentUser) -> list[WebhookPublic]:
    """Your webhooks, oldest first (without their secrets)."""
    webhooks = webhook_service.list_webhooks(session=session, user_id=current_user.id)
    return [WebhookPublic(**_public(webhook)) for webhook in webhooks]


@router.get(
    "/{webhook_id}",
    summary="Get a webhook",
    response_model=WebhookPublic,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def get_webhook(webhook_id: str, session: SessionDep, current_user: CurrentUser) -> WebhookPublic:
    """One of your webhooks: its events, and whether (and why) it is disabled."""
    webhook = webhook_service.get_webhook(
        session=session, user_id=current_user.id, webhook_id=_webhook_id(webhook_id)
    )
    return WebhookPublic(**_public(webhook))


@router.patch(
    "/{webhook_id}",
    summary="Update a webhook",
    response_model=WebhookPublic,
    dependencies=[require_scope("webhooks:manage"), Depends(require_json)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, 429),
)
def update_webhook(
    webhook_id: str,
    webhook_in: WebhookUpdate,
    session: SessionDep,
    current_user: CurrentUser,
    rules: UrlRulesDep,
) -> WebhookPublic:
    """Change the URL, events or description, or enable (`enabled: true`) a disabled one."""
    webhook = webhook_service.update_webhook(
        session=session,
        user_id=current_user.id,
        webhook_id=_webhook_id(webhook_id),
        webhook_in=webhook_in,
        rules=rules,
    )
    return WebhookPublic(**_public(webhook))


@router.delete(
    "/{webhook_id}",
    summary="Delete a webhook",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def delete_webhook(webhook_id: str, session: SessionDep, current_user: CurrentUser) -> Response:
    """Delete a webhook and its deliveries; pending ones are not sent."""
    webhook_service.delete_webhook(
        session=session, user_id=current_user.id, webhook_id=_webhook_id(webhook_id)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate a webhook's secret",
    response_model=SecretRotated,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def rotate_webhook_secret(
    webhook_id: str, session: SessionDep, current_user: CurrentUser
) -> SecretRotated:
    """A new signing secret, shown this once; the old one keeps signing for 24 hours."""
    webhook = webhook_service.rotate_secret(
        session=session, user_id=current_user.id, webhook_id=_webhook_id(webhook_id)
    )
    expires = previous_secret_expires_at(webhook)
    assert expires is not None  # noqa: S101 - just rotated
    return SecretRotated(secret=webhook.secret, previous_secret_expires_at=expires)


@router.post(
    "/{webhook_id}/test",
    summary="Send a test event",
    response_model=DeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def test_webhook(webhook_id: str, session: SessionDep, current_user: CurrentUser) -> DeliveryPublic:
    """Queue a `webhook.test` delivery; follow it in the deliveries list."""
    view = delivery_service.send_test(
        session=session, user_id=current_user.id, webhook_id=_webhook_id(webhook_id)
    )
    return _delivery(view)


@router.get(
    "/{webhook_id}/deliveries",
    summary="List a webhook's deliveries",
    response_model=list[DeliveryPublic],
    responses=problem_responses(401, 404, 422, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def list_webhook_deliveries(
    webhook_id: str,
    session: SessionDep,
    current_user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many.")] = 20,
) -> list[DeliveryPublic]:
    """The latest deliveries, newest first, each with its attempts (status, time, error)."""
    views = delivery_service.list_deliveries(
        session=session, user_id=current_user.id, webhook_id=_webhook_id(webhook_id), limit=limit
    )
    return [_delivery(view) for view in views]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/resend",
    summary="Re-send a delivery",
    response_model=DeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 404, 429),
    dependencies=[require_scope("webhooks:manage")],
)
def resend_webhook_delivery(
    webhook_id: str, delivery_id: str, session: SessionDep, current_user: CurrentUser
) -> DeliveryPublic:
    """Send a delivery again (same `webhook-id`), e.g. one that failed for 24 hours."""
    view = delivery_service.resend_delivery(
        session=session,
        user_id=current_user.id,
        webhook_id=_webhook_id(webhook_id),
        delivery_id=_webhook_id(delivery_id),
    )
    return _delivery(view)
