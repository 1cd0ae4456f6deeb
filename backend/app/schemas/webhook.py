"""Webhook requests and responses (`/api/v1/webhooks`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import NO_NUL, StrictInput

# The events a webhook can subscribe to. A new kind of event is one more name here and one
# `record_event` call where the change is made (app.services.outbox).
EventType = Literal[
    "task.created",
    "task.updated",
    "task.completed",
    "task.reopened",
    "task.deleted",
    "list.created",
    "list.updated",
    "list.deleted",
    "tag.created",
    "tag.updated",
    "tag.deleted",
    "reminder.fired",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
# Sent by POST /webhooks/{id}/test only; not subscribable.
TEST_EVENT = "webhook.test"

WebhookUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048), NO_NUL
]
Description = Annotated[str, StringConstraints(max_length=500), NO_NUL]


def _distinct(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


Events = Annotated[list[EventType], Field(min_length=1, max_length=20), AfterValidator(_distinct)]

_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5",
    "url": "https://hooks.example.com/tasks",
    "events": ["task.created", "task.completed"],
    "description": "Team dashboard",
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "consecutive_failures": 0,
    "secret_rotated_at": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-11-29T09:30:00Z",
    "updated_at": "2026-11-29T09:30:00Z",
}
_SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - an example


class WebhookCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/tasks",
                    "events": ["task.created", "task.completed"],
                    "description": "Team dashboard",
                }
            ]
        }
    )

    url: WebhookUrl = Field(
        description="Where deliveries are POSTed: `https://` (plain `http://` outside "
        "production), resolving to public addresses only."
    )
    events: Events = Field(description="The event types to deliver.")
    description: Description | None = Field(default=None, description="A note for yourself.")


class WebhookUpdate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"enabled": True}, {"events": ["task.deleted"]}]}
    )

    url: WebhookUrl | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None,
        description="`true` enables a disabled webhook again (its failure count restarts); "
        "`false` pauses deliveries (they wait, and are sent once enabled).",
    )


class WebhookPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the webhook was disabled, when deliveries kept failing."
    )
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="Failed attempts in a row (0 after a success).")
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries are signed with the previous secret too."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_WEBHOOK_EXAMPLE, "secret": _SECRET_EXAMPLE}]}
    )

    secret: str = Field(description="The signing secret. Shown this once: keep it.")


class SecretRotated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": _SECRET_EXAMPLE,
                    "previous_secret_expires_at": "2026-11-30T09:30:00Z",
                }
            ]
        }
    )

    secret: str = Field(description="The new signing secret. Shown this once: keep it.")
    previous_secret_expires_at: datetime = Field(
        description="Until then every delivery is signed with the old secret as well."
    )


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    failure: str | None = Field(
        description="Why the attempt failed (`timeout`, `non_2xx`, `refused_address`, ...); "
        "null when delivered."
    )
    detail: str
    duration_ms: int
    response_excerpt: str | None = Field(description="The start of the receiver's answer.")


_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": "0d9a7c1e-2b3f-4d5e-8f60-718293a4b5c6",
    "webhook_id": _WEBHOOK_EXAMPLE["id"],
    "event_type": "task.created",
    "status": "delivered",
    "attempt_count": 1,
    "created_at": "2026-11-29T09:31:00Z",
    "next_attempt_at": None,
    "delivered_at": "2026-11-29T09:31:01Z",
    "payload": {"type": "task.created", "timestamp": "2026-11-29T09:31:00Z", "data": {}},
    "attempts": [
        {
            "attempted_at": "2026-11-29T09:31:01Z",
            "status_code": 204,
            "failure": None,
            "detail": "HTTP 204",
            "duration_ms": 12,
            "response_excerpt": "",
        }
    ],
}


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DELIVERY_EXAMPLE]})

    id: uuid.UUID = Field(description="Also the `webhook-id` header of every attempt.")
    webhook_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed"] = Field(
        description="`failed`: retried for 24 hours without success (it can be re-sent)."
    )
    attempt_count: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The body sent, as JSON.")
    attempts: list[AttemptPublic] = Field(description="Each attempt, oldest first.")
