"""A webhook's deliveries as its owner sees them: listed with their attempts, re-sent, tested.

Sending is the delivery worker's (app.jobs.webhook_delivery); these functions only queue.
"""

import uuid
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.core.errors import DeliveryNotFound
from app.models import WebhookAttempt, WebhookDelivery
from app.models.base import utcnow
from app.schemas.webhook import TEST_EVENT
from app.services.outbox import encode_event
from app.services.webhooks import get_webhook


class DeliveryView(NamedTuple):
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def send_test(*, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID) -> DeliveryView:
    """Queue a `webhook.test` delivery now, whatever the webhook subscribes to."""
    webhook = get_webhook(session=session, user_id=user_id, webhook_id=webhook_id)
    now = utcnow()
    delivery = WebhookDelivery(
        user_id=user_id,
        webhook_id=webhook.id,
        event_type=TEST_EVENT,
        payload=encode_event(
            type=TEST_EVENT, data={"webhook_id": webhook.id, "url": webhook.url}, timestamp=now
        ),
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.commit()
    return DeliveryView(delivery, [])


def list_deliveries(
    *, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID, limit: int
) -> list[DeliveryView]:
    """The webhook's latest `limit` deliveries, newest first, each with its attempts."""
    get_webhook(session=session, user_id=user_id, webhook_id=webhook_id)
    deliveries = list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.webhook_id) == webhook_id,
                col(WebhookDelivery.user_id) == user_id,
            )
            .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
            .limit(limit)
        )
    )
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = defaultdict(list)
    if deliveries:
        rows = session.scalars(
            select(WebhookAttempt)
            .where(
                col(WebhookAttempt.user_id) == user_id,
                col(WebhookAttempt.delivery_id).in_([d.id for d in deliveries]),
            )
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        )
        for attempt in rows:
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryView(delivery, attempts[delivery.id]) for delivery in deliveries]


def resend_delivery(
    *, session: Session, user_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryView:
    """Queue the delivery again now, with the same `webhook-id` (receivers that saw it drop
    it). Its 24 hours of retries start again; a worker sending it right now loses its claim."""
    now = utcnow()
    changed = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.webhook_id) == webhook_id,
            col(WebhookDelivery.user_id) == user_id,
        )
        .values(
            status="pending",
            next_attempt_at=now,
            first_attempt_at=None,
            lease_token=None,
        )
        .returning(col(WebhookDelivery.id))
    ).all()
    if not changed:
        session.rollback()
        raise DeliveryNotFound
    session.commit()
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:  # deleted meanwhile
        raise DeliveryNotFound
    attempts = list(
        session.scalars(
            select(WebhookAttempt)
            .where(
                col(WebhookAttempt.user_id) == user_id,
                col(WebhookAttempt.delivery_id) == delivery_id,
            )
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        )
    )
    return DeliveryView(delivery, attempts)
