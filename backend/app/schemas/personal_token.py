import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.schemas.common import Name, StrictInput

# The names of app.core.scopes.SCOPES (tests/test_scopes.py keeps the two equal).
Scope = Literal[
    "tasks:read",
    "tasks:write",
    "lists:read",
    "lists:write",
    "tags:read",
    "tags:write",
    "account:read",
    "webhooks:manage",
    "calendar:manage",
    "export:read",
    "import:write",
]
MAX_LIFETIME_DAYS = 365


def _whole_number(value: object) -> object:
    # JSON has one number type: `30.0` is an integer to JSON Schema, so it is accepted here as
    # it is by the contract; strict validation then refuses anything else that is not an int.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Days = Annotated[int, BeforeValidator(_whole_number)]

_EXAMPLE: dict[str, Any] = {
    "id": "5f0c2a9e-7b1d-4c3e-8f2a-9d8e7c6b5a41",
    "name": "dashboard (read only)",
    "scopes": ["tags:read", "tasks:read"],
    "last_four": "Xq3k",
    "created_at": "2026-11-29T09:30:00Z",
    "expires_at": "2027-02-27T09:30:00Z",
    "last_used_at": None,
}


class PersonalTokenCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "dashboard (read only)",
                    "scopes": ["tasks:read", "tags:read"],
                    "expires_in_days": 90,
                }
            ]
        }
    )

    name: Name = Field(
        description="At most 100 characters as sent, at least 1 after trimming: what the "
        "token is for."
    )
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1, max_length=len(get_args(Scope)), json_schema_extra={"uniqueItems": True}
        ),
    ] = Field(description="What the token may do; each scope at most once.")
    expires_in_days: Days = Field(
        ge=1, le=MAX_LIFETIME_DAYS, description="Required: the token stops working after this."
    )

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, scopes: list[str]) -> list[str]:
        if len(set(scopes)) != len(scopes):
            raise ValueError("each scope may appear once")
        return scopes


class PersonalTokenPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    name: str
    scopes: list[Scope]
    last_four: str = Field(description="The token's last four characters, to tell it apart.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(
        description="When it was last used, to the minute; null if never."
    )


class PersonalTokenCreated(PersonalTokenPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_EXAMPLE, "token": "tap_3Jb8mV1y0Vv8Y0p5x9Qe7n0c1Z2s3d4f5g6h78jXq3k"}]
        }
    )

    token: str = Field(
        description="The token itself: shown this once, never again. Send it as "
        "`Authorization: Bearer tap_...`."
    )
