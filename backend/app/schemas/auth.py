from typing import Annotated

from fastapi import Form
from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import NO_NUL, StrictInput

# Longer values are refused before any password hashing.
MAX_USERNAME = 320
MAX_PASSWORD = 128


class LoginForm:
    """The OAuth2 password grant's form (RFC 6749, 4.3.2), as the server reads it.

    FastAPI's OAuth2PasswordRequestForm would publish its optional fields as nullable, which a
    form cannot send (a fuzzer sends the text `null`, refused by the `grant_type` pattern), and
    an empty `username` or `password`, which FastAPI reads as missing, as valid. The limits on
    length and characters are the server's own.
    """

    def __init__(
        self,
        *,
        username: Annotated[
            str,
            Form(
                min_length=1,
                max_length=MAX_USERNAME,
                # Looked up in the database, which cannot take NUL (PostgreSQL refuses it).
                pattern=NO_NUL.regex,
                description="Your email address.",
            ),
        ],
        password: Annotated[
            str,
            Form(min_length=1, max_length=MAX_PASSWORD, json_schema_extra={"format": "password"}),
        ],
        # FastAPI reads an empty form field as an absent one, so "" is a grant type too.
        grant_type: Annotated[
            str, Form(pattern="^(password)?$", description="`password`, or empty, or absent.")
        ] = "password",
        scope: Annotated[str, Form(description="Ignored: a token grants every scope.")] = "",
        client_id: Annotated[str, Form(description="Ignored.")] = "",
        client_secret: Annotated[
            str, Form(description="Ignored.", json_schema_extra={"format": "password"})
        ] = "",
    ) -> None:
        self.username = username
        self.password = password


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "q3JbV1m4a2y0VvJ8mY0p5x9Qe7n0c1Z2s3d4f5g6h7I",
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Access token lifetime in seconds.")
    refresh_token: str


class RefreshRequest(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"refresh_token": "q3JbV1m4a2y0VvJ8mY0p5x9Qe7n0c1Z2s3d4f5g6h7I"}]
        }
    )

    refresh_token: str = Field(min_length=1, max_length=512)
