"""Webhook secrets and signatures by the Standard Webhooks specification.

The signing itself is the `standardwebhooks` package's (the reference implementation); this
module adds what the specification leaves to the sender: how secrets are made, which secrets
sign during a rotation, and the exact headers of one attempt.

How the API and the delivery worker use it (later):

- Creating a webhook: `generate_secret()` gives the `whsec_...` secret, shown to the owner once.
- Rotating: a new secret becomes current; the old one keeps signing until
  `rotated_at + ROTATION_OVERLAP` so receivers can switch without losing a hook. The worker
  asks `signing_secrets(current=..., previous=..., rotated_at=..., now=...)` for the list.
- Each attempt: `sign(msg_id=..., payload=..., secrets=..., timestamp=now)` gives the three
  headers for `app.core.outbound.post_webhook`. `msg_id` is the delivery's id and stays the
  same across retries (receivers use it to drop duplicates); the timestamp is the attempt's,
  because receivers refuse signatures older than a few minutes (5 in the reference
  implementations) to stop replays.
"""

import base64
import math
import re
import secrets as random_source
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
# The specification asks for 24 to 64 random bytes.
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)
# Message ids are put in the signed text as `id.timestamp.body`; keeping dots (and anything
# unusual) out of them keeps that text unambiguous.
_MSG_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def generate_secret() -> str:
    """A new signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_source.token_bytes(SECRET_BYTES)).decode()


def signing_secrets(
    *,
    current: str,
    previous: str | None,
    rotated_at: datetime | None,
    now: datetime,
) -> list[str]:
    """The secrets that sign now: the current one, then the previous one within the overlap."""
    if previous is None or rotated_at is None or now >= rotated_at + ROTATION_OVERLAP:
        return [current]
    return [current, previous]


def sign(
    *, msg_id: str, payload: bytes, secrets: Sequence[str], timestamp: datetime
) -> dict[str, str]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers of one attempt.

    With several secrets the signature header lists one `v1,...` entry per secret, separated by
    spaces, as the specification allows; a receiver accepts the message if any entry matches.
    """
    if not _MSG_ID.fullmatch(msg_id):
        raise ValueError("msg_id must be 1 to 128 letters, digits, '_' or '-'")
    if not secrets:
        raise ValueError("at least one secret is needed")
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # standardwebhooks replaces the time zone with UTC instead of converting to it, so a
    # timestamp in another zone would be signed as the wrong moment: convert here, and sign
    # the whole second that goes into the header.
    seconds = math.floor(timestamp.timestamp())
    signed_at = datetime.fromtimestamp(seconds, UTC)
    # JSON is UTF-8; the receiver verifies the bytes it got, so the text signed must be them.
    data = payload.decode("utf-8")
    signatures = [Webhook(secret).sign(msg_id, signed_at, data) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": " ".join(signatures),
    }
