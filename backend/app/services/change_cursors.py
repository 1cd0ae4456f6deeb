"""Change feed cursors: a position in the log, the time the cursor was issued, and during a
snapshot where the client is in it. base64url JSON: nothing in them is secret or trusted (a
forged position only re-reads or skips the forger's own changes); a hash of the user id makes
another user's cursor a 400 like a malformed one."""

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from app.core.errors import ChangesGone, InvalidCursor
from app.models.base import utcnow

# The snapshot's kinds, in its order: a task's list comes before it.
KINDS = ("list", "tag", "task")
# Past every real sequence number: a position "after every change of transaction t".
END_OF_TRANSACTION = 2**62
_VERSION = 1


class Position(NamedTuple):
    txid: int
    seq: int


@dataclass(frozen=True)
class Cursor:
    """What a client holds: where it is in the log, and, during a snapshot, where it is in
    the snapshot (`snapshot` = (kind index, last id) or None once it is over)."""

    position: Position
    issued_at: datetime
    snapshot: tuple[int, str | None] | None = None


def _user_tag(user_id: uuid.UUID) -> str:
    return hashlib.sha256(user_id.bytes).hexdigest()[:12]


def encode(cursor: Cursor, user_id: uuid.UUID) -> str:
    data: dict[str, Any] = {
        "v": _VERSION,
        "u": _user_tag(user_id),
        "p": list(cursor.position),
        "at": int(cursor.issued_at.timestamp()),
    }
    if cursor.snapshot is not None:
        data["s"] = list(cursor.snapshot)
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(
    token: str, *, user_id: uuid.UUID, retention_days: int, now: datetime | None = None
) -> Cursor:
    """The cursor; InvalidCursor (400) for a malformed one or another user's, ChangesGone
    (410) for one older than the retention."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError("not a feed cursor")
        txid, seq = data["p"]
        issued = data["at"]
        snapshot = data.get("s")
        if not all(type(value) is int and value >= 0 for value in (txid, seq, issued)):
            raise ValueError("bad position")
        if snapshot is not None:
            kind, last = snapshot
            if type(kind) is not int or not 0 <= kind < len(KINDS):
                raise ValueError("bad snapshot kind")
            if last is not None:
                last = str(uuid.UUID(last))
            snapshot = (kind, last)
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
        raise InvalidCursor("The cursor is malformed; start again without `since`.") from exc
    if data.get("u") != _user_tag(user_id):
        raise InvalidCursor("The cursor was issued to someone else; start again without `since`.")
    if issued_at < (now or utcnow()) - timedelta(days=retention_days):
        raise ChangesGone
    return Cursor(Position(txid, seq), issued_at, snapshot)


def stream_cursor(position: Position, user_id: uuid.UUID) -> str:
    """The cursor of a position, issued now (an SSE event's id)."""
    return encode(Cursor(position, utcnow()), user_id)
