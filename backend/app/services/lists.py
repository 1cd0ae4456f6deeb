"""Lists: every task sits in one of its owner's lists; every account has exactly one Inbox.

Every query is scoped by user_id; the composite foreign key (tasks.list_id, tasks.user_id)
makes a task in another user's list impossible in the database itself.
"""

import uuid
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import Uuid, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app import database
from app.core.errors import (
    InboxProtected,
    ListNameTaken,
    ListNotEmpty,
    ListNotFound,
    PreconditionFailed,
)
from app.core.etags import Expected, version_matches
from app.models import Task, TaskList
from app.models.base import utcnow
from app.schemas.task_list import ListCreate, ListUpdate
from app.schemas.values import tag_key
from app.services import outbox

INBOX_NAME = "Inbox"

# What becomes of a deleted list's tasks: left to the caller to say (None refuses).
TasksOnDelete = Literal["inbox", "trash"] | None


class ListCounts(NamedTuple):
    id: uuid.UUID
    name: str
    color: str | None
    position: int
    archived: bool
    inbox: bool
    created_at: datetime
    updated_at: datetime
    open_tasks: int
    total_tasks: int
    version: int


def name_key(name: str) -> str:
    """The case-insensitive identity of a list name (as for tags)."""
    return tag_key(name)


def new_inbox(user_id: uuid.UUID) -> TaskList:
    """The Inbox of a new account, to add to the session that creates the account."""
    return TaskList(user_id=user_id, name=INBOX_NAME, name_key=name_key(INBOX_NAME), inbox=True)


def _inbox_id(session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalars(
        select(col(TaskList.id)).where(
            col(TaskList.user_id) == user_id, col(TaskList.inbox).is_(True)
        )
    ).first()


_INBOX_ID = select(col(TaskList.id)).where(
    col(TaskList.user_id) == bindparam("user_id", type_=Uuid()), col(TaskList.inbox).is_(True)
)


# An account's Inbox is never deleted, archived or replaced, so its id, once read, stays
# right for the life of the account: each process remembers the ids it has read, and a write
# that must name its list up front (a create by a user with webhooks) needs no read of its
# own. Nothing to invalidate but deleted accounts (`forget_inbox`); bounded by starting over.
# Only an Inbox this session did not create is remembered: one it created may yet be rolled
# back with its transaction (a batch that fails after it).
_INBOXES: dict[uuid.UUID, uuid.UUID] = {}
MAX_REMEMBERED_INBOXES = 100_000
_MADE_INBOX = "tasks_api_made_inbox"


def inbox_id(*, session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the user's Inbox (None for an account made outside registration, until it
    gets one): from memory, or one round trip of its own."""
    known = _INBOXES.get(user_id)
    if known is not None:
        return known
    rows = database.run(session, _INBOX_ID, {"user_id": user_id}, prepare=True)
    if not rows:
        return None
    found: uuid.UUID = rows[0][0]
    if not session.info.get(_MADE_INBOX):
        if len(_INBOXES) >= MAX_REMEMBERED_INBOXES:
            _INBOXES.clear()
        _INBOXES[user_id] = found
    return found


def forget_inbox(user_id: uuid.UUID) -> None:
    """The account is gone: so is its Inbox."""
    _INBOXES.pop(user_id, None)


def ensure_inbox(*, session: Session, user_id: uuid.UUID) -> uuid.UUID:
    """The id of the user's Inbox, created if the account has none (an account made outside
    registration). Does not commit.

    Writes first, then reads: on SQLite a transaction that read first could not take the
    write lock once another connection has written (it fails at once, not after waiting)."""
    now = utcnow()
    row = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "name": INBOX_NAME,
        "name_key": name_key(INBOX_NAME),
        "color": None,
        "position": 0,
        "archived": False,
        "inbox": True,
        "created_at": now,
        "updated_at": now,
    }
    # A concurrent request may create it first: whichever row wins is read back.
    session.info[_MADE_INBOX] = True
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(TaskList).values(row).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(TaskList).values(row).on_conflict_do_nothing())
    found = _inbox_id(session, user_id)
    if found is None:  # pragma: no cover - a list named "inbox" that is not the Inbox
        raise RuntimeError("the account has a list named Inbox that is not its Inbox")
    return found


def _counts_query(user_id: uuid.UUID) -> Any:
    live = and_(
        col(Task.list_id) == TaskList.id,
        col(Task.user_id) == TaskList.user_id,
        col(Task.deleted_at).is_(None),
    )
    return (
        select(
            col(TaskList.id),
            col(TaskList.name),
            col(TaskList.color),
            col(TaskList.position),
            col(TaskList.archived),
            col(TaskList.inbox),
            col(TaskList.created_at),
            col(TaskList.updated_at),
            func.count(col(Task.id)).filter(col(Task.completed).is_(False)),
            func.count(col(Task.id)),
            col(TaskList.version),
        )
        .select_from(TaskList)
        .outerjoin(Task, live)
        .where(col(TaskList.user_id) == user_id)
        .group_by(col(TaskList.id))
        .order_by(col(TaskList.position), col(TaskList.name_key), col(TaskList.id))
    )


def list_lists(*, session: Session, user_id: uuid.UUID, archived: bool) -> list[ListCounts]:
    """The user's lists (archived ones too if asked) with their task counts: one query."""
    query = _counts_query(user_id)
    if not archived:
        query = query.where(col(TaskList.archived).is_(False))
    return [ListCounts(*row) for row in session.execute(query)]


def get_list(*, session: Session, user_id: uuid.UUID, list_id: uuid.UUID) -> ListCounts:
    row = session.execute(_counts_query(user_id).where(col(TaskList.id) == list_id)).first()
    if row is None:
        raise ListNotFound
    return ListCounts(*row)


def _announce(session: Session, user_id: uuid.UUID, type: str, list_id: uuid.UUID) -> None:
    """Queue a list event (webhooks) with the list as the API shows it, in the open
    transaction; nothing to read for a user without webhooks."""
    if outbox.has_subscriptions(session=session, user_id=user_id):
        task_list = get_list(session=session, user_id=user_id, list_id=list_id)
        outbox.record_event(session=session, user_id=user_id, type=type, data=task_list._asdict())


def _name_taken(session: Session, user_id: uuid.UUID, key: str) -> ListNameTaken:
    existing = session.scalars(
        select(col(TaskList.id)).where(
            col(TaskList.user_id) == user_id, col(TaskList.name_key) == key
        )
    ).first()
    return ListNameTaken(existing)


def create_list(*, session: Session, user_id: uuid.UUID, list_in: ListCreate) -> ListCounts:
    task_list = TaskList(
        user_id=user_id,
        name=list_in.name,
        name_key=name_key(list_in.name),
        color=list_in.color,
        position=list_in.position,
        archived=list_in.archived,
    )
    session.add(task_list)
    try:
        session.flush()
        _announce(session, user_id, "list.created", task_list.id)
        session.commit()
    except IntegrityError as exc:
        # The unique (user_id, name_key) key decides; a pre-check alone would race.
        session.rollback()
        raise _name_taken(session, user_id, task_list.name_key) from exc
    return get_list(session=session, user_id=user_id, list_id=task_list.id)


def _locked(
    session: Session, user_id: uuid.UUID, list_id: uuid.UUID, expected: Expected
) -> TaskList:
    """The user's list, locked until the transaction ends (PostgreSQL; SQLite's write
    transaction holds the database), so If-Match's check and the write are one step:
    ListNotFound, or PreconditionFailed when If-Match names another version."""
    statement = select(TaskList).where(
        col(TaskList.id) == list_id, col(TaskList.user_id) == user_id
    )
    task_list = session.scalars(statement.with_for_update()).first()
    if task_list is None:
        raise ListNotFound
    if not version_matches(task_list.version, expected):
        session.rollback()
        raise PreconditionFailed(task_list.version, "list")
    return task_list


def update_list(
    *,
    session: Session,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    list_in: ListUpdate,
    expected: Expected = None,
) -> ListCounts:
    task_list = _locked(session, user_id, list_id, expected)
    changes = list_in.model_dump(exclude_unset=True)
    if changes.get("archived") and task_list.inbox:
        session.rollback()
        raise InboxProtected("The Inbox cannot be archived: new tasks land there.")
    if "name" in changes:
        task_list.name = changes["name"]
        task_list.name_key = name_key(changes["name"])
    for field in ("color", "position", "archived"):
        if field in changes:
            setattr(task_list, field, changes[field])
    if changes:
        task_list.updated_at = utcnow()
        task_list.version += 1
        session.add(task_list)
    key = task_list.name_key
    try:
        if changes:
            session.flush()
            _announce(session, user_id, "list.updated", list_id)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise _name_taken(session, user_id, key) from exc
    return get_list(session=session, user_id=user_id, list_id=list_id)


def delete_list(
    *,
    session: Session,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    tasks: TasksOnDelete,
    expected: Expected = None,
) -> None:
    """Delete a list. Its tasks go to the Inbox or the trash, as the caller says; without a
    say, a list that holds tasks is refused. Trashed tasks of the list move to the Inbox
    (their list is gone, so that is where a restore puts them). One transaction."""
    task_list = _locked(session, user_id, list_id, expected)
    if task_list.inbox:
        session.rollback()
        raise InboxProtected("The Inbox cannot be deleted: new tasks land there.")
    in_list = and_(col(Task.user_id) == user_id, col(Task.list_id) == list_id)
    if tasks is None:
        live = session.scalar(select(func.count()).where(in_list, col(Task.deleted_at).is_(None)))
        if live:
            session.rollback()
            raise ListNotEmpty
    try:
        _announce(session, user_id, "list.deleted", list_id)  # as it was
        inbox = ensure_inbox(session=session, user_id=user_id)
        if tasks == "trash":
            session.execute(
                update(Task)
                .where(in_list, col(Task.deleted_at).is_(None))
                .values(deleted_at=utcnow())
            )
        session.execute(update(Task).where(in_list).values(list_id=inbox))
        session.execute(
            delete(TaskList).where(col(TaskList.id) == list_id, col(TaskList.user_id) == user_id)
        )
        session.commit()
    except IntegrityError as exc:
        # A task was created in the list meanwhile (the foreign key refuses the delete).
        session.rollback()
        raise ListNotEmpty from exc
