import re
import uuid
from datetime import datetime
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from email_validator.rfc_constants import EMAIL_MAX_LENGTH
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.schemas.common import Name, NoNulStr, StrictInput, not_nullable
from app.schemas.values import TimeZoneName

Password = Annotated[NoNulStr, StringConstraints(min_length=8, max_length=128)]


def _any_case(name: str) -> str:
    # ECMAScript patterns, which the contract's are, have no inline case-insensitive flag.
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


# email-validator refuses addresses on RFC 6761 special-use domains (and their subdomains);
# `format: email` alone would call them valid, so the contract states the rule as a `not`.
SPECIAL_USE_DOMAIN_PATTERN = (
    r"[@.](" + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES) + r")\.?$"
)


class UserCreate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse", "name": "Ada"}]
        }
    )

    email: EmailStr = Field(
        max_length=EMAIL_MAX_LENGTH,
        description=(
            "Checked by email-validator: at most 254 characters, and not on a special-use "
            "domain (`.test`, `.local`, `.localhost`, `.invalid`, `.onion`, `.arpa`)."
        ),
        json_schema_extra={"not": {"pattern": SPECIAL_USE_DOMAIN_PATTERN}},
    )
    password: Password = Field(description="8 to 128 characters.")
    name: Name | None = None


class UserUpdate(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Ada Lovelace", "timezone": "Europe/London"}]}
    )

    name: Name | None = Field(default=None, description="`null` clears the name.")
    timezone: TimeZoneName | None = Field(
        default=None,
        json_schema_extra=not_nullable,
        description='IANA time zone for "today" and "overdue"; cannot be null.',
    )

    @field_validator("timezone")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be null")
        return value


class UserPublic(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2b8c1e-5a4d-4e8f-9b7a-2c1d0e9f8a7b",
                    "email": "ada@example.com",
                    "name": "Ada",
                    "timezone": "UTC",
                    "created_at": "2026-11-24T09:30:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    email: str | None = Field(
        description="Null only for users from an external provider without a verified email."
    )
    name: str | None
    timezone: str
    created_at: datetime


class PasswordChange(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "correct horse", "new_password": "battery staple 42"}]
        }
    )

    current_password: Annotated[NoNulStr, StringConstraints(min_length=1, max_length=128)]
    new_password: Password = Field(description="8 to 128 characters.")
    revoke_tokens: bool = Field(
        default=False,
        description="Also revoke every personal access token (they survive a password "
        "change otherwise).",
    )
