"""The open event streams of this process, and how a change wakes them.

A stream holds no database connection and no queue of events: it holds a cursor into the
change feed and an `asyncio.Event`. A notification ("user X changed something", ids only,
from PostgreSQL NOTIFY or the SQLite poller, on any thread) sets the events of X's streams;
each then reads the feed from its own cursor. So a writer never waits for a reader (setting
an event is all a notification costs), a burst of changes wakes a stream once, and what a
slow client has not taken yet stays in the database, not in memory.

Limits: `max_per_user` streams per user (TooManyStreams, 429) and `max_streams` in all
(StreamsFull, 503). `close_all` ends every stream (shutdown).
"""

import asyncio
import contextlib
import threading
import uuid
from dataclasses import dataclass, field

from app.core.errors import StreamsFull, TooManyStreams


@dataclass(eq=False)
class Subscription:
    user_id: uuid.UUID
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by a notification about the account (revocation): check the caller at once.
    recheck: bool = False
    closed: bool = False


class StreamHub:
    def __init__(self, *, max_per_user: int, max_streams: int) -> None:
        self.max_per_user = max_per_user
        self.max_streams = max_streams
        self._by_user: dict[uuid.UUID, set[Subscription]] = {}
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    def users(self) -> list[uuid.UUID]:
        with self._lock:
            return list(self._by_user)

    def open(self, user_id: uuid.UUID) -> Subscription:
        """A new stream of user_id, on the running loop; raises when a limit is reached."""
        subscription = Subscription(user_id, asyncio.get_running_loop())
        with self._lock:
            mine = self._by_user.get(user_id, set())
            if len(mine) >= self.max_per_user:
                raise TooManyStreams
            if self._count >= self.max_streams:
                raise StreamsFull
            mine.add(subscription)
            self._by_user[user_id] = mine
            self._count += 1
        return subscription

    def close(self, subscription: Subscription) -> None:
        with self._lock:
            mine = self._by_user.get(subscription.user_id)
            if mine is None or subscription not in mine:
                return
            mine.discard(subscription)
            if not mine:
                del self._by_user[subscription.user_id]
            self._count -= 1
        subscription.closed = True

    def notify(self, user_id: uuid.UUID, *, recheck: bool = False) -> None:
        """Wake user_id's streams; from any thread, never blocking."""
        with self._lock:
            targets = list(self._by_user.get(user_id, ()))
        for subscription in targets:
            if recheck:
                subscription.recheck = True
            _wake(subscription)

    def notify_payload(self, payload: str, *, recheck: bool = False) -> None:
        """A notification's payload (a user id); anything else is ignored."""
        try:
            user_id = uuid.UUID(payload)
        except ValueError:
            return
        self.notify(user_id, recheck=recheck)

    def close_all(self) -> None:
        """End every stream (they see `closed` when woken)."""
        with self._lock:
            targets = [s for mine in self._by_user.values() for s in mine]
        for subscription in targets:
            subscription.closed = True
            _wake(subscription)


def _wake(subscription: Subscription) -> None:
    # RuntimeError: its loop has closed, and the stream is gone with it.
    with contextlib.suppress(RuntimeError):
        subscription.loop.call_soon_threadsafe(subscription.wake.set)
