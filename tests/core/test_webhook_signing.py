"""Secrets, the secrets that sign during a rotation, and the headers of one attempt.

That other implementations accept these signatures (the npm `standardwebhooks` package, in
the JavaScript receiver of the docs) is tests/core/test_webhook_receivers.py's part.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.core.webhook_signing import (
    ROTATION_OVERLAP,
    generate_secret,
    sign,
    signing_secrets,
)

PAYLOAD = b'{"type": "task.created", "data": {"title": "caf\xc3\xa9"}}'
NOW = datetime(2026, 1, 1, 12, 0, 0, 750_000, tzinfo=UTC)


def spec_signature(secret: str, msg_id: str, timestamp: str, payload: bytes) -> str:
    """The signature as the specification words it, written out with the standard library."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + payload, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_headers_carry_id_whole_second_timestamp_and_signature() -> None:
    secret = generate_secret()
    headers = sign(msg_id="msg_abc", payload=PAYLOAD, secrets=[secret], timestamp=NOW)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert headers["webhook-signature"] == spec_signature(
        secret, "msg_abc", headers["webhook-timestamp"], PAYLOAD
    )


def test_two_secrets_give_two_signatures_newest_first() -> None:
    new, old = generate_secret(), generate_secret()
    headers = sign(msg_id="msg_1", payload=PAYLOAD, secrets=[new, old], timestamp=NOW)
    stamp = headers["webhook-timestamp"]
    assert headers["webhook-signature"].split(" ") == [
        spec_signature(new, "msg_1", stamp, PAYLOAD),
        spec_signature(old, "msg_1", stamp, PAYLOAD),
    ]


def test_a_timestamp_in_another_zone_signs_the_same_moment() -> None:
    # standardwebhooks alone would sign 14:00+02:00 as 14:00 UTC; the header says 12:00 UTC.
    berlin = NOW.astimezone(timezone(timedelta(hours=2)))
    secret = generate_secret()
    headers = sign(msg_id="msg_1", payload=PAYLOAD, secrets=[secret], timestamp=berlin)
    assert headers == sign(msg_id="msg_1", payload=PAYLOAD, secrets=[secret], timestamp=NOW)
    now = datetime.now(timezone(timedelta(hours=-7)))
    fresh = sign(msg_id="msg_1", payload=PAYLOAD, secrets=[secret], timestamp=now)
    assert Webhook(secret).verify(PAYLOAD, fresh)["type"] == "task.created"


def test_another_secret_or_a_changed_body_does_not_verify() -> None:
    secret = generate_secret()
    headers = sign(msg_id="msg_1", payload=PAYLOAD, secrets=[secret], timestamp=datetime.now(UTC))
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(PAYLOAD, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(PAYLOAD.replace(b"created", b"deleted"), headers)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"msg_id": "msg.1"}, "msg_id"),
        ({"msg_id": ""}, "msg_id"),
        ({"msg_id": "msg 1"}, "msg_id"),
        ({"secrets": []}, "at least one secret"),
        ({"timestamp": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "msg_id": "msg_1",
        "payload": PAYLOAD,
        "secrets": [generate_secret()],
        "timestamp": NOW,
    }
    values.update(arguments)
    with pytest.raises(ValueError, match=message):
        sign(**values)  # type: ignore[arg-type]


def test_a_payload_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(UnicodeDecodeError):
        sign(msg_id="msg_1", payload=b"\xff", secrets=[generate_secret()], timestamp=NOW)


def test_the_old_secret_signs_alongside_the_new_for_24_hours() -> None:
    rotated_at = NOW
    during = rotated_at + ROTATION_OVERLAP - timedelta(seconds=1)
    after = rotated_at + ROTATION_OVERLAP
    assert timedelta(hours=24) == ROTATION_OVERLAP
    both = signing_secrets(current="new", previous="old", rotated_at=rotated_at, now=during)
    assert both == ["new", "old"]
    assert signing_secrets(current="new", previous="old", rotated_at=rotated_at, now=after) == [
        "new"
    ]
    assert signing_secrets(current="new", previous=None, rotated_at=None, now=during) == ["new"]
