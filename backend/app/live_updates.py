"""What wakes the event streams of this process (core.stream_hub), per database.

- PostgreSQL: the change triggers of migration 0016 send `NOTIFY tasks_api_changes, '<user
  id>'`; the process's notification listener (app.notifications, shared with the account
  cache) wakes that user's streams. An account notification (revocation) makes them check
  their caller at once.
- SQLite (one process; no NOTIFY): one poller per process looks for new log rows every
  EVENTS_POLL_SECONDS while any stream is open, and wakes the streams of their owners.
- PostgreSQL with EVENTS_FANOUT=redis (no LISTEN possible): RedisRelay below.

Either way a notification names a user id only; each stream reads its own user's feed.
"""

import asyncio
import hashlib
import logging
import threading
import uuid

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import notifications
from app.core.config import Settings
from app.core.stream_hub import StreamHub
from app.database import normalize_database_url
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


def redis_channel(database_url: str) -> str:
    """The Redis channel of one database: instances of another database (or another app on
    the same Redis) never hear it."""
    digest = hashlib.sha256(normalize_database_url(database_url).encode()).hexdigest()[:16]
    return f"{CHANGES_CHANNEL}:{digest}"


class RedisRelay:
    """EVENTS_FANOUT=redis (PostgreSQL without LISTEN): every process subscribes to the
    database's Redis channel and wakes its streams; one process at a time, holding a Redis
    lock, reads the change log in cursor order (the same gate as the feed, so no change is
    skipped) and publishes the ids of the users concerned. The lock lapses after a few
    seconds if its holder dies, and another process takes over from the head of the log:
    a stream still reads every change, the wake-ups of those seconds come late."""

    LOCK_MILLISECONDS = 3000

    def __init__(self, redis_url: str, engine: Engine, hub: StreamHub, interval: float) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.engine = engine
        self.hub = hub
        self.interval = interval
        self.channel = redis_channel(engine.url.render_as_string(hide_password=True))
        self.lock_key = f"{self.channel}:relay"
        self.token = uuid.uuid4().hex
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._subscribe, name="events-redis-sub", daemon=True),
            threading.Thread(target=self._relay, name="events-redis-relay", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(5)
        self.client.close()

    def _subscribe(self) -> None:
        while not self._stopping.is_set():
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self.channel)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self.hub.notify_payload(message["data"].decode())
                pubsub.close()
            except redis.RedisError as exc:
                logger.warning("event relay subscription lost: %s", exc)
                self._stopping.wait(1)

    def _holds_lock(self) -> bool:
        ms = self.LOCK_MILLISECONDS
        if self.client.set(self.lock_key, self.token, nx=True, px=ms):
            return True
        if self.client.get(self.lock_key) == self.token.encode():
            self.client.pexpire(self.lock_key, ms)
            return True
        return False

    def _relay(self) -> None:
        position: change_service.Position | None = None
        while not self._stopping.wait(self.interval):
            try:
                if not self._holds_lock():
                    position = None  # another process relays; start afresh if we take over
                    continue
                with Session(self.engine) as session:
                    if position is None:
                        position = change_service.relay_head(session=session)
                    position, owners = change_service.relay_owners(session=session, after=position)
                    session.rollback()
                for owner in owners:
                    self.client.publish(self.channel, str(owner))
            except (redis.RedisError, SQLAlchemyError) as exc:
                logger.warning("event relay failed a round: %s", exc)


def fanout(settings: Settings) -> str:
    """`poll` (SQLite), `notify` or `redis`: how this process hears of changes
    (EVENTS_FANOUT)."""
    if settings.is_sqlite:
        return "poll"
    if settings.events_fanout == "redis" and not settings.redis_url:
        logger.warning("EVENTS_FANOUT=redis needs REDIS_URL; using NOTIFY")
        return "notify"
    if settings.events_fanout != "auto":
        return settings.events_fanout
    url = settings.database_listen_url or settings.database_url
    if settings.redis_url and notifications.behind_neon_pooler(url):
        return "redis"
    return "notify"
