"""The webhook outbox: an event is written in the same transaction as the change it describes.

`record_event(session=..., user_id=..., type=..., data=...)` inserts one delivery row per
enabled webhook of the user subscribed to `type`, in the caller's open transaction: a change
rolled back takes its deliveries with it, a committed one has them committed too, and the
delivery worker (app.jobs.webhook_delivery) sends them afterwards. A background job (a
reminder firing) calls it the same way, inside the transaction that makes its change, on a
session bound to the user (database.bind_session_to_user) as requests are.

Most users have no webhook, and most writes must not pay for this. Each process remembers,
per user, whether they have any enabled webhook (`SUBSCRIBERS`): the task write paths ask it
first (`watch`, `insert_task`), and only a user with webhooks gets the outbox's statement (a
create on PostgreSQL: folded into the INSERT itself) or transaction. The
process that changes a webhook forgets its entry at once; on PostgreSQL the others hear of the
change by NOTIFY when it commits (normally within milliseconds); an answer is never used
longer than `SUBSCRIBERS.ttl_seconds` (1 s), the bound on SQLite or while notifications are
down: a webhook created in another process receives events at most a second later. The
authoritative check, which webhooks want this event, runs inside the transaction.
"""

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Text,
    Uuid,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from app import database
from app.core.events import Event
from app.database import RLS_USER_SETTING
from app.models import Webhook, WebhookDelivery
from app.models.base import UTCDateTime, utcnow
from app.models.task import TASKS
from app.schemas.task import TaskFields, task_document

_ANY_ENABLED = (
    select(Webhook.id)  # type: ignore[call-overload]
    .where(
        col(Webhook.user_id) == bindparam("user_id"),
        col(Webhook.enabled).is_(True),
    )
    .limit(1)
)


class SubscriberCache:
    """user id -> whether the user has an enabled webhook, for `ttl_seconds`."""

    def __init__(self, *, ttl_seconds: float = 1.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[uuid.UUID, tuple[bool, float]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        """Take before querying; `put` ignores an answer a `forget` has made stale since."""
        return self._generation

    def get(self, user_id: uuid.UUID) -> bool | None:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None:
                return None
            if time.monotonic() - entry[1] >= self.ttl_seconds:
                del self._entries[user_id]
                return None
            return entry[0]

    def put(self, user_id: uuid.UUID, value: bool, *, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._entries[user_id] = (value, time.monotonic())
            self._entries.move_to_end(user_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, user_id: uuid.UUID) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(user_id, None)


SUBSCRIBERS = SubscriberCache()

# PostgreSQL: a webhook of this user changed (payload: the user id); every server process
# forgets its cached answer when the change commits (app.main registers the handler).
WEBHOOKS_CHANNEL = "tasks_api_webhooks"
_NOTIFY = text(f"SELECT pg_notify('{WEBHOOKS_CHANNEL}', :user_id)")


def subscriptions_changed(*, session: Session, user_id: uuid.UUID) -> None:
    """Call in the transaction that creates, changes, disables or deletes a webhook: this
    process forgets its answer after the commit (the caller's `SUBSCRIBERS.forget`), the others
    when the notification arrives with it; the 1 s lifetime is the backstop."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"user_id": str(user_id)})


def queue_event(connection: Connection, event: Event) -> None:
    """An events subscriber (app.core.events): a background job's event (`reminder.fired`),
    queued for the owner's subscribed webhooks in the job's own transaction. The job works
    across users, so the owner is set for row-level security first (transaction-local)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(
            text("SELECT set_config(:setting, :user_id, true)"),
            {"setting": RLS_USER_SETTING, "user_id": str(event.user_id)},
        )
    params = _event_params(
        user_id=event.user_id, type=event.type, data=event.data, now=event.occurred_at
    )
    connection.execute(_queue_statement(dialect), params)


def has_subscriptions(*, session: Session, user_id: uuid.UUID) -> bool:
    """Whether the user may have a webhook to tell (cached; see the module docstring)."""
    cached = SUBSCRIBERS.get(user_id)
    if cached is not None:
        return cached
    generation = SUBSCRIBERS.generation
    found = bool(database.run(session, _ANY_ENABLED, {"user_id": user_id}, prepare=True))
    SUBSCRIBERS.put(user_id, found, generation=generation)
    return found


def encode_event(*, type: str, data: Any, timestamp: datetime) -> str:
    """The body of a delivery: `{"type", "timestamp", "data"}`, encoded as the API encodes."""
    body = {"type": type, "timestamp": timestamp, "data": data}
    return orjson.dumps(body, option=orjson.OPT_UTC_Z).decode()


@cache
def _queue_statement(dialect: str) -> Any:
    """One INSERT ... SELECT: a delivery for each of the user's enabled webhooks subscribed to
    the event, ids made by the database; built once, only bound per call."""
    if dialect == "postgresql":
        new_id: Any = func.gen_random_uuid()
        subscribed: ColumnElement[bool] = cast(col(Webhook.events), JSONB).op("?")(
            bindparam("event_type", type_=String())
        )
    else:
        # SQLAlchemy stores a UUID on SQLite as 32 hexadecimal digits.
        new_id = func.lower(func.hex(func.randomblob(16)))
        members = func.json_each(col(Webhook.events)).table_valued("value")
        event = bindparam("event_type", type_=String())
        subscribed = exists(select(literal(1)).select_from(members).where(members.c.value == event))
    rows = select(
        new_id,
        col(Webhook.user_id),
        col(Webhook.id),
        bindparam("event_type", type_=String()),
        bindparam("payload", type_=Text()),
        literal("pending", String()),
        literal(0, Integer()),
        bindparam("now", type_=UTCDateTime()),
        bindparam("now", type_=UTCDateTime()),
    ).where(
        col(Webhook.user_id) == bindparam("user_id", type_=Uuid()),
        col(Webhook.enabled).is_(True),
        subscribed,
    )
    columns = [
        "id",
        "user_id",
        "webhook_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    return insert(WebhookDelivery).from_select(columns, rows)


@cache
def _with_event(statement: Any) -> Any:
    """PostgreSQL: `statement` (an INSERT of one row) and the event's INSERT ... SELECT as one
    statement, the first as a data-modifying CTE: one round trip, one implicit transaction."""
    return _queue_statement("postgresql").add_cte(statement.cte("changed"))


def _event_params(*, user_id: uuid.UUID, type: str, data: Any, now: datetime) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "event_type": type,
        "payload": encode_event(type=type, data=data, timestamp=now),
        "now": now,
    }


def record_event(
    *,
    session: Session,
    user_id: uuid.UUID,
    type: str,
    data: Any,
    now: datetime | None = None,
) -> None:
    """Queue `type` for each of the user's enabled webhooks subscribed to it, in the
    session's current transaction (the caller commits)."""
    if not has_subscriptions(session=session, user_id=user_id):
        return
    params = _event_params(user_id=user_id, type=type, data=data, now=now or utcnow())
    database.run(session, _queue_statement(session.get_bind().dialect.name), params, prepare=True)


# A task as a write sees it: its fields and tag names.
TaskState = tuple[TaskFields, list[str]]


class TaskChange:
    """What one task write announces, for `watch`'s caller to fill in.

    Without webhooks every method does nothing; with them, the write runs in a transaction
    begun by `watch`, and the event is queued in it before the caller commits.
    """

    def __init__(
        self, session: Session | None, user_id: uuid.UUID, before: TaskState | None
    ) -> None:
        self._session = session
        self._user_id = user_id
        self._before = before

    def _record(self, type: str, task: TaskFields, tags: list[str]) -> None:
        if self._session is not None:
            record_event(
                session=self._session,
                user_id=self._user_id,
                type=type,
                data=task_document(task, tags),
            )

    def created(self, task: TaskFields, tags: list[str]) -> None:
        self._record("task.created", task, tags)

    def updated(self, task: TaskFields, tags: list[str]) -> None:
        """`task.completed` or `task.reopened` when the completion changed, else
        `task.updated`."""
        before = self._before
        if before is not None and before[0].completed != task.completed:
            self._record("task.completed" if task.completed else "task.reopened", task, tags)
        else:
            self._record("task.updated", task, tags)

    def completion(self, task: TaskFields, tags: list[str], *, changed: bool) -> None:
        """Complete or reopen: the event of the new state, if the write changed it."""
        if changed:
            self._record("task.completed" if task.completed else "task.reopened", task, tags)

    def deleted(self) -> None:
        """`task.deleted`, carrying the task as it was."""
        if self._before is not None:
            self._record("task.deleted", *self._before)


_QUIET = TaskChange(None, uuid.UUID(int=0), None)


def watch(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID | None = None,
    before: Callable[[], TaskState] | None = None,
) -> TaskChange:
    """Call first in a task write. For a user with webhooks: begin the transaction the write
    and its event will share, lock the task (`task_id`, PostgreSQL; SQLite's writers are one
    at a time already) and read it as it was (`before`): that tells an update from a
    completion and is what `task.deleted` carries, and the lock keeps two concurrent writes
    from both reading the same "before"."""
    if not has_subscriptions(session=session, user_id=user_id):
        return _QUIET
    database.begin(session)
    if task_id is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(TASKS.c.id)
            .where(TASKS.c.id == task_id, TASKS.c.user_id == user_id)
            .with_for_update()
        )
    return TaskChange(session, user_id, before() if before is not None else None)


def insert_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    statement: Any,
    params: dict[str, Any],
    task: TaskFields | None,
    together: bool,
) -> tuple[TaskChange, list[tuple[Any, ...]]]:
    """Run a task's INSERT (`statement`, built once) and say how to announce it, with the rows
    the INSERT returned (none when its event went with it); `together`: more statements follow
    (its tags) that must commit with it, in a transaction begun here. `task`: the task as
    inserted, if the caller knows all of it before the INSERT.

    Without webhooks: the INSERT alone, as before. With them, when the task is complete as
    inserted, on PostgreSQL the INSERT and its `task.created` go in one statement, so a create
    costs one round trip either way. Otherwise the INSERT starts a transaction, and the
    caller's `created(...)` queues the event before it commits.
    """
    # Asked before any transaction: on SQLite a read first would make the INSERT upgrade a
    # read transaction, which fails at once ("database is locked") if another writer went
    # first, instead of waiting for the lock.
    subscribed = has_subscriptions(session=session, user_id=user_id)
    if not together and not subscribed:
        return _QUIET, database.run(session, statement, params, prepare=True)
    if not together and task is not None and session.get_bind().dialect.name == "postgresql":
        event = _event_params(
            user_id=user_id, type="task.created", data=task_document(task, []), now=task.created_at
        )
        database.run(session, _with_event(statement), {**params, **event}, prepare=True)
        return _QUIET, []
    database.begin(session)
    rows = database.run(session, statement, params, prepare=True)
    return (TaskChange(session, user_id, None) if subscribed else _QUIET), rows
