"""Webhooks, their deliveries (the outbox) and each delivery's attempts.

A delivery row is written in the same transaction as the change it announces (see
app.services.outbox): it is the outbox. The delivery worker (app.jobs.webhook_delivery)
claims due rows by moving `next_attempt_at` one lease ahead under a fresh `lease_token`, so a
worker that dies mid-delivery leaves the row due again once the lease has passed.
"""

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Text, UniqueConstraint
from sqlmodel import Column, Field, ForeignKey, SQLModel, Uuid

from app.models.base import UTCDateTime, utcnow


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        # The owner's list, and the outbox's "which of this user's webhooks want the event".
        Index("ix_webhooks_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    url: str = Field(max_length=2048)
    # The event types subscribed to, a JSON array of strings.
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # Kept in clear: signing needs the secret itself (a hash could not sign).
    secret: str = Field(max_length=100)
    # Still signs beside `secret` until rotated_at + 24 h.
    previous_secret: str | None = Field(default=None, max_length=100)
    rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=1000)
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    consecutive_failures: int = 0
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook; its id is the `webhook-id` of every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["webhook_id", "user_id"], ["webhooks.id", "webhooks.user_id"], ondelete="CASCADE"
        ),
        UniqueConstraint("id", "user_id"),
        # The worker's claim: pending rows by due time.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # A webhook's deliveries, newest first.
        Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    webhook_id: uuid.UUID
    event_type: str = Field(max_length=50)
    # The exact JSON body sent (and signed), so every attempt sends the same bytes.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    # pending, delivered or failed (retries exhausted).
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    # Due time while pending (a claim moves it one lease ahead); None once finished.
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Set by each claim; an attempt is recorded on the delivery only under its own lease.
    lease_token: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    first_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery, as its owner sees it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["delivery_id", "user_id"],
            ["webhook_deliveries.id", "webhook_deliveries.user_id"],
            ondelete="CASCADE",
        ),
        Index("ix_webhook_attempts_delivery_id_attempted_at", "delivery_id", "attempted_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: uuid.UUID
    attempted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    status_code: int | None = None
    failure: str | None = Field(default=None, max_length=50)
    detail: str = Field(max_length=1000)
    duration_ms: int = 0
    response_excerpt: str | None = Field(default=None, sa_column=Column(Text))
