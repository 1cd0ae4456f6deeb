"""What wakes the event streams of this process (core.stream_hub), per database.

- PostgreSQL: the change triggers of migration 0016 send `NOTIFY tasks_api_changes, '<user
  id>'`; the process's notification listener (app.notifications, shared with the account
  cache) wakes that user's streams. An account notification (revocation) makes them check
  their caller at once.
- SQLite (one process; no NOTIFY): one poller per process looks for new log rows every
  EVENTS_POLL_SECONDS while any stream is open, and wakes the streams of their owners.

Either way a notification names a user id only; each stream reads its own user's feed.
"""

import asyncio
import logging

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.stream_hub import StreamHub
from app.services import changes as change_service

logger = logging.getLogger("app.live_updates")

# The channel the triggers of migration 0016 notify on.
CHANGES_CHANNEL = "tasks_api_changes"


def _poll(engine: Engine, after_seq: int) -> tuple[int, list[object]]:
    with Session(engine) as session:
        last, owners = change_service.new_change_owners(session=session, after_seq=after_seq)
        session.rollback()
    return last, list(owners)


async def poll_sqlite(engine: Engine, hub: StreamHub, interval: float) -> None:
    """Run until cancelled: wake the streams of whoever changed something."""
    last: int | None = None
    while True:
        await asyncio.sleep(interval)
        if hub.count == 0:
            last = None  # nobody listens: start from "now" when someone does
            continue
        try:
            found, owners = await asyncio.to_thread(_poll, engine, last if last is not None else -1)
        except Exception:
            logger.exception("change poller failed; streams fall back to their rechecks")
            continue
        if last is None:
            # Just started looking: a change made between a stream's first read and now was
            # not seen by this poller, so every stream reads once (from its own cursor).
            owners = list(hub.users())
        for owner in owners:
            hub.notify(owner)  # type: ignore[arg-type]
        last = found
