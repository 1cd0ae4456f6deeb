"""Domain events, and the hook that delivery subscribes to.

A change that others may want to hear about (today: `reminder.fired`) is emitted here by the
code that makes it, inside the transaction that makes it, with that transaction's database
connection. Subscribers run synchronously in that transaction: a webhook outbox inserts its
delivery rows there, so an event is stored exactly when its change commits (never for a
change rolled back, never twice). The webhook outbox subscribes (app.jobs.reminders, when it is
imported); subscribing the same function again changes nothing.

A subscriber must be quick and must not commit; raising rolls the change back with it.
"""

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

logger = logging.getLogger("app.events")

REMINDER_FIRED = "reminder.fired"


@dataclass(frozen=True, slots=True)
class Event:
    """`type` like `reminder.fired`; `user_id` the owner, who alone may see it; `data` plain
    JSON values (ids as strings, moments as ISO 8601)."""

    type: str
    user_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid.uuid4)


# (the transaction's connection, the event) -> None
Subscriber = Callable[[Any, Event], None]

_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Call `subscriber(connection, event)` for every event from now on; returns the function
    that unsubscribes it."""
    with _lock:
        if subscriber not in _subscribers:
            _subscribers.append(subscriber)

    def unsubscribe() -> None:
        with _lock:
            if subscriber in _subscribers:
                _subscribers.remove(subscriber)

    return unsubscribe


def emit(connection: Any, event: Event) -> None:
    """Hand the event to every subscriber, in the caller's transaction (`connection`)."""
    with _lock:
        subscribers = list(_subscribers)
    logger.info("event %s %s for user %s", event.type, event.id, event.user_id)
    for subscriber in subscribers:
        subscriber(connection, event)
