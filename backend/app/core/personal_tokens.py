"""Personal access tokens: their format, their hash, and what a verified one grants.

A token is `tap_` and 43 base64url characters (32 random bytes): the prefix lets secret
scanners (GitHub's, gitleaks, trufflehog) recognise a leaked one, and tells the server which
check a bearer token needs without trying the others. Only its SHA-256 is stored.
"""

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

PREFIX = "tap_"
RANDOM_BYTES = 32
# What a secret scanner can match: the prefix, then exactly the base64url of 32 bytes.
PATTERN = re.compile(r"tap_[A-Za-z0-9_-]{43}")
# How often `last_used_at` may be written for one token: a listing shows minutes, and a
# write per request would turn every read into a write.
LAST_USED_RESOLUTION_SECONDS = 60.0


def new_personal_token() -> str:
    return PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def is_personal_token(token: str) -> bool:
    return token.startswith(PREFIX)


def hash_personal_token(token: str) -> str:
    # A fast, unsalted hash is right for 256 random bits (nothing to guess, no dictionary to
    # precompute), and it lets the token be found by an exact index lookup. A slow password
    # hash would cost every uncached request tens of milliseconds and protect nothing more.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PersonalGrant:
    """A verified, unrevoked personal token: whose it is, what it may do, until when."""

    token_id: uuid.UUID
    user_id: uuid.UUID
    scopes: frozenset[str]
    expires_at: float  # seconds since the epoch
