from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import StrictInput


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


class LogoutAllRequest(StrictInput):
    """The optional body of logout-all; without one, personal access tokens keep working."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"revoke_tokens": True}]})

    revoke_tokens: bool = Field(
        default=False, description="Also revoke every personal access token."
    )


class RefreshRequest(StrictInput):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"refresh_token": "q3JbV1m4a2y0VvJ8mY0p5x9Qe7n0c1Z2s3d4f5g6h7I"}]
        }
    )

    refresh_token: str = Field(min_length=1, max_length=512)
