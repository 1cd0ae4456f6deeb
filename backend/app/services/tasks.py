"""Task queries and writes. Every function is scoped by the owner's user_id."""

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from datetime import time as TimeOfDay
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app import database
from app.core.errors import InvalidField, PreconditionFailed, TaskNotFound
from app.core.etags import Expected, version_matches
from app.core.ordering import creation_key
from app.models import Tag, Task, TaskList, TaskTag
from app.models.base import utcnow
from app.models.task import TASKS
from app.schemas.task import (
    CompatTaskCreate,
    CompatTaskUpdate,
    TaskFields,
    TaskMove,
    TaskReplace,
)
from app.schemas.task_query import TaskQuery
from app.schemas.values import Priority
from app.services import lists as list_service
from app.services import outbox, task_order, task_recurrence, task_tree
from app.services import reminders as reminder_service
from app.services import tags as tag_service
from app.services.cursors import encode_cursor, query_fingerprint
from app.services.task_filters import (
    ListShape,
    after_cursor,
    cursor_value,
    due_today_condition,
    order_by,
    overdue_condition,
    plan_list,
    sort_columns,
    today_in,
    visible_conditions,
    where_clause,
)
from app.services.task_versions import (
    fail_missing_or_stale,
    versions_condition,
    versions_params,
)


class TaskView(NamedTuple):
    """A task with its tag names, as the API shows it."""

    task: TaskFields
    tags: list[str]


# Reads and simple updates go through SQLAlchemy Core, not the ORM: a request then pays for
# no identity map, no instance state and no second query for the tags (they come back with
# the task, aggregated by a correlated subquery). About 0.3 ms less CPU per statement here.
# What a response shows of a task (not user_id, not the derived due_sort): fewer values to
# convert per row of a page.
_SHOWN = [column for column in TASKS.c if column.name not in ("user_id", "due_sort")]
_TASK_COLUMNS = len(_SHOWN)


class ShownTask(NamedTuple):
    """A task as the statements below select it (the _SHOWN columns, in order). Rows are
    copied into this before rendering: a NamedTuple's fields read several times faster than
    a SQLAlchemy Row's, and a page reads ten of them per task."""

    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: int
    due_date: date | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    list_id: uuid.UUID
    deleted_at: datetime | None
    version: int
    recurrence: str | None
    recurrence_basis: str
    recurrence_done: int
    recurrence_time: TimeOfDay | None
    parent_id: uuid.UUID | None
    subtask_count: int
    open_subtask_count: int
    position: str


assert list(ShownTask._fields) == [column.name for column in _SHOWN]  # noqa: S101


# Statements below are built once (functools.cache) and only bound per request: building and
# hashing one with the tags subquery costs more CPU than executing it.
@cache
def _tag_names_column(dialect: str) -> ColumnElement[Any]:
    """The task's tag names, sorted like the API promises (case-insensitively, then by id)."""
    link = and_(col(Tag.id) == col(TaskTag.tag_id), col(Tag.user_id) == col(TaskTag.user_id))
    owned = and_(col(TaskTag.task_id) == TASKS.c.id, col(TaskTag.user_id) == TASKS.c.user_id)
    links = select().select_from(TaskTag).join(Tag, link).where(owned)
    if dialect == "postgresql":
        names = aggregate_order_by(col(Tag.name), col(Tag.name_key), col(Tag.id))
        return links.add_columns(func.array_agg(names)).scalar_subquery().label("tag_names")
    # SQLite (before 3.44) has no ORDER BY inside an aggregate: aggregate a sorted subquery.
    ordered = (
        links.add_columns(col(Tag.name))
        .order_by(col(Tag.name_key), col(Tag.id))
        .correlate(TASKS)
        .subquery()
    )
    return select(func.json_group_array(ordered.c.name)).scalar_subquery().label("tag_names")


def _tag_names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # SQLite's JSON array
        names: list[str] = json.loads(value)
        return names
    return list(value)


def _view(row: Any) -> TaskView:
    """A row of (tasks.*, tag_names, ...) as a TaskView."""
    return TaskView(ShownTask._make(row[:_TASK_COLUMNS]), _tag_names(row[_TASK_COLUMNS]))


def view_columns(dialect: str) -> list[Any]:
    """What a TaskView is read from (view_of turns such a row into one): for other task
    services' own statements (the trash)."""
    return [*_SHOWN, _tag_names_column(dialect)]


view_of = _view


@cache
def _get_statement(dialect: str) -> Any:
    return select(*_SHOWN, _tag_names_column(dialect)).where(
        TASKS.c.id == bindparam("task_id"),
        TASKS.c.user_id == bindparam("user_id"),
        TASKS.c.deleted_at.is_(None),
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def get_task_view(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> TaskView:
    """The task of user_id with its tags, in one statement; TaskNotFound for a missing task
    and for another user's alike."""
    rows = database.run(
        session,
        _get_statement(_dialect(session)),
        {"task_id": task_id, "user_id": user_id},
        prepare=True,
    )
    if not rows:
        raise TaskNotFound
    return _view(rows[0])


def checked_view(view: TaskView, expected: Expected) -> TaskView:
    """The view, if If-Match accepts its version; else PreconditionFailed."""
    if not version_matches(view.task.version, expected):
        raise PreconditionFailed(view.task.version)
    return view


def _loader(session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> Callable[[], TaskView]:
    """The task as it is now, read by the outbox only for a user with webhooks."""
    return lambda: get_task_view(session=session, user_id=user_id, task_id=task_id)


def _due_values(due: date | datetime | None) -> dict[str, Any]:
    """The three due columns for an API `due` value."""
    if isinstance(due, datetime):
        return {"due_date": None, "due_at": due, "due_sort": due}
    if isinstance(due, date):
        # All-day dates stay plain dates; only the sort key places them at 00:00 UTC.
        return {"due_date": due, "due_at": None, "due_sort": datetime.combine(due, time(), UTC)}
    return {"due_date": None, "due_at": None, "due_sort": None}


class TaskRecord(NamedTuple):
    """A task row as written, for answering without reading it back."""

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: int
    due_date: date | None
    due_at: datetime | None
    due_sort: datetime | None
    created_at: datetime
    updated_at: datetime
    list_id: uuid.UUID
    deleted_at: datetime | None
    recurrence: str | None
    recurrence_basis: str
    recurrence_done: int
    recurrence_time: TimeOfDay | None
    parent_id: uuid.UUID | None
    subtask_count: int
    open_subtask_count: int
    position: str
    version: int = 1


def _inbox_of_owner() -> Any:
    return (
        select(col(TaskList.id))
        .where(
            col(TaskList.user_id) == bindparam("inbox_owner", type_=TASKS.c.user_id.type),
            col(TaskList.inbox).is_(True),
        )
        .scalar_subquery()
    )


# Without a list the task goes to its owner's Inbox, found by the INSERT itself (one
# statement, as before lists existed); RETURNING tells which list it landed in.
_INSERT = (
    insert(TASKS)
    .values(
        {
            column.name: (
                # Not named like a column: those names are reserved for the VALUES clause.
                func.coalesce(bindparam("the_list", type_=column.type), _inbox_of_owner())
                if column.name == "list_id"
                else bindparam(column.name)
            )
            for column in TASKS.c
        }
    )
    .returning(TASKS.c.list_id)
)


def create_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_in: CompatTaskCreate,
    list_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
) -> TaskView:
    """Create a task in list_id, or in the Inbox. A list the user does not have is a 422
    naming list_id (the composite foreign key refuses it). With parent_id, a subtask."""
    task_recurrence.check_new(task_in)
    if parent_id is not None:
        return _create_subtask(
            session, user_id=user_id, task_in=task_in, list_id=list_id, parent_id=parent_id
        )
    if list_id is None and session.in_transaction():
        # Inside the caller's transaction a failed INSERT would take the caller's work down
        # with it (the retry below rolls back): make sure of the Inbox first instead (known
        # to the process once read: no round trip then).
        list_id = list_service.inbox_id(
            session=session, user_id=user_id
        ) or list_service.ensure_inbox(session=session, user_id=user_id)
    try:
        return _create_task(session, user_id=user_id, task_in=task_in, list_id=list_id)
    except IntegrityError as exc:
        session.rollback()
        if list_id is not None:
            raise InvalidField("list_id", "no such list") from exc
    # No Inbox: an account made outside registration. Make it, then try once more.
    list_service.ensure_inbox(session=session, user_id=user_id)
    session.commit()
    return _create_task(session, user_id=user_id, task_in=task_in, list_id=None)


def _create_subtask(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_in: CompatTaskCreate,
    list_id: uuid.UUID | None,
    parent_id: uuid.UUID,
) -> TaskView:
    """The subtask, its parent's counts and (for an open subtask) its reopened ancestors, in
    one transaction."""
    database.begin(session)
    try:
        parent = task_tree.check_parent(
            session, user_id=user_id, parent_id=parent_id, task_id=None, list_id=list_id
        )
        view = _create_task(
            session,
            user_id=user_id,
            task_in=task_in,
            list_id=parent.list_id,
            parent_id=parent.id,
            commit=False,
        )
        node = task_tree.Node(view.task.id, parent.id, parent.list_id, task_in.completed, None)
        above = [parent.id]
        if not task_in.completed:
            above = task_tree.reopen_ancestors(
                session, user_id=user_id, node=node, now=view.task.created_at
            )
        task_tree.recount(session, user_id=user_id, task_ids=above)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return view


def _create_task(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_in: CompatTaskCreate,
    list_id: uuid.UUID | None,
    parent_id: uuid.UUID | None = None,
    commit: bool = True,
) -> TaskView:
    now = utcnow()
    task_id = uuid.uuid4()
    fields: dict[str, Any] = {
        "id": task_id,
        "user_id": user_id,
        "title": task_in.title,
        "description": task_in.description,
        "completed": task_in.completed,
        "completed_at": now if task_in.completed else None,
        "priority": task_in.priority.level,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "version": 1,
        "parent_id": parent_id,
        "subtask_count": 0,
        "open_subtask_count": 0,
        # The end of its group, without reading the group (app.core.ordering).
        "position": creation_key(task_id, now),
        **_due_values(task_in.due),
        **task_recurrence.new_values(task_in),
    }
    if list_id is None and outbox.has_subscriptions(session=session, user_id=user_id):
        # Its task.created carries the list: find the Inbox first (only for webhook users;
        # without one, the INSERT finds it and the event follows in a transaction).
        list_id = list_service.inbox_id(session=session, user_id=user_id)
    params = {**fields, "the_list": list_id, "inbox_owner": user_id}
    # With tags, a transaction: the task and its tags commit together.
    events, inserted = outbox.insert_task(
        session=session,
        user_id=user_id,
        statement=_INSERT,
        params=params,
        task=TaskRecord(**fields, list_id=list_id) if list_id is not None else None,
        together=bool(task_in.tags),
    )
    # The list the INSERT found (RETURNING), or, when its event went with it, the one known
    # before it.
    landed_in = inserted[0][0] if inserted else list_id
    assert landed_in is not None  # noqa: S101 - no rows only when the list was known
    record = TaskRecord(**fields, list_id=landed_in)
    tags: list[str] = []
    if task_in.tags:
        tags = tag_service.set_task_tags(
            session=session, user_id=user_id, task_id=record.id, names=task_in.tags
        )
    events.created(record, tags)
    if commit:
        database.commit(session)
    return TaskView(record, tags)


def get_task(*, session: Session, user_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    """The task if it exists and belongs to user_id; otherwise None (the same answer)."""
    return session.scalars(
        select(Task).where(
            col(Task.id) == task_id, col(Task.user_id) == user_id, col(Task.deleted_at).is_(None)
        )
    ).first()


def _completed_values(completed: bool, now: datetime) -> dict[str, Any]:
    # With `completed: True`, _update_statement keeps an earlier completed_at (see there).
    return {"completed": completed, "completed_at": now if completed else None}


class _UpdateShape(NamedTuple):
    dialect: str
    columns: tuple[str, ...]  # the columns set, sorted
    only_if_completed_is: bool | None  # a condition on the old row, or None
    tags_returned: bool
    expected_versions: int = 0  # If-Match: how many versions may be current (0: no check)
    only_if_not_recurring: bool = False
    leaf_only: bool = False  # only a top-level task without subtasks (no tree to update)


@cache
def _update_statement(shape: _UpdateShape) -> Any:
    """UPDATE of one of the user's tasks, RETURNING it; built once per shape, so later calls
    only bind values (building and hashing a statement costs more than running it here)."""
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=TASKS.c[name].type) for name in shape.columns
    }
    if "completed" in values and "completed_at" in values:
        # Completing a completed task keeps its first completion time (SET sees the old row);
        # reopening clears it (the bound value is None then).
        values["completed_at"] = case(
            (
                and_(TASKS.c.completed.is_(True), values["completed"].is_(True)),
                TASKS.c.completed_at,
            ),
            else_=values["completed_at"],
        )
    # Every write is a new version, counted by the database itself (no read first).
    values["version"] = TASKS.c.version + 1
    if "recurrence_done" in values:
        # Setting the same due (and rule) again keeps the series' place (issue 19).
        values.update(task_recurrence.keep_series_if_unchanged(values))
    # Not named like a column: those names are reserved for the SET clause.
    where = [
        TASKS.c.id == bindparam("the_task"),
        TASKS.c.user_id == bindparam("the_owner"),
        TASKS.c.deleted_at.is_(None),
    ]
    if shape.only_if_completed_is is not None:
        where.append(TASKS.c.completed.is_(shape.only_if_completed_is))
    if shape.expected_versions:
        # If-Match in the same statement as the write: no window between check and write.
        where.append(versions_condition(shape.expected_versions))
    if shape.only_if_not_recurring:
        where.append(TASKS.c.recurrence.is_(None))
    if shape.leaf_only:
        where += [TASKS.c.parent_id.is_(None), TASKS.c.subtask_count == 0]
    statement = update(TASKS).where(*where).values(values).returning(*_SHOWN)
    if shape.tags_returned:
        statement = statement.returning(_tag_names_column(shape.dialect))
    return statement


def _run_update(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    only_if_completed_is: bool | None = None,
    expected: Expected = None,
    only_if_not_recurring: bool = False,
    leaf_only: bool = False,
) -> Any:
    """The updated row (with its tag names on PostgreSQL), or None if nothing matched."""
    if expected == ():
        return None  # an If-Match no version can satisfy: nothing to try
    dialect = _dialect(session)
    # SQLite's RETURNING cannot hold the correlated tags subquery.
    tags_returned = dialect == "postgresql"
    shape = _UpdateShape(
        dialect,
        tuple(sorted(values)),
        only_if_completed_is,
        tags_returned,
        len(expected) if expected is not None else 0,
        only_if_not_recurring,
        leaf_only,
    )
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(the_task=task_id, the_owner=user_id)
    params.update(versions_params(expected))
    rows = database.run(session, _update_statement(shape), params, prepare=True)
    return rows[0] if rows else None


class _Keep:
    """`parent` not sent: the task keeps its parent."""


KEEP = _Keep()


def _update(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    tags: list[str] | None,
    expected: Expected = None,
    zone: str = "UTC",
    parent: uuid.UUID | _Keep | None = KEEP,
) -> TaskView:
    """One UPDATE of the user's task (404 if it matches nothing: missing, another user's, or
    deleted meanwhile; 412 if If-Match names another version); new tags are set in the same
    transaction, and so are the times of its relative reminders when the due changes. A
    change that can touch the task's tree (completion, list, parent) goes through
    _update_tree instead."""
    if not isinstance(parent, _Keep) or "list_id" in values or "completed" in values:
        return _update_tree(
            session,
            user_id=user_id,
            task_id=task_id,
            values=values,
            tags=tags,
            parent=parent,
            expected=expected,
            zone=zone,
        )
    events = outbox.watch(
        session=session, user_id=user_id, task_id=task_id, before=_loader(session, user_id, task_id)
    )
    due_set = "due_sort" in values
    if tags is not None or due_set:
        database.begin(session)  # the fields, tags and reminders commit together
    try:
        row = _run_update(
            session, user_id=user_id, task_id=task_id, values=values, expected=expected
        )
    except IntegrityError as exc:
        # The only reference an update can break: the composite foreign key of list_id.
        session.rollback()
        raise InvalidField("list_id", "no such list") from exc
    if row is None:
        session.rollback()
        fail_missing_or_stale(session=session, user_id=user_id, task_id=task_id)
    if tags is not None:
        names = tag_service.set_task_tags(
            session=session, user_id=user_id, task_id=task_id, names=tags
        )
    elif len(row) > _TASK_COLUMNS:
        names = _tag_names(row[_TASK_COLUMNS])
    else:
        names = tag_service.tag_names_for_tasks(
            session=session, user_id=user_id, task_ids=[task_id]
        )[task_id]
    task = ShownTask._make(row[:_TASK_COLUMNS])
    if due_set:
        reminder_service.follow_due(session=session, user_id=user_id, task=task, zone=zone)
    view = TaskView(task, names)
    events.updated(*view)
    database.commit(session)
    return view


def _update_tree(
    session: Session,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    tags: list[str] | None,
    parent: uuid.UUID | _Keep | None,
    expected: Expected = None,
    zone: str = "UTC",
    place: task_order.Placement | None = None,
) -> TaskView:
    """The update, and what it means for the task's tree, in one transaction: completing
    completes the open subtasks, an open task reopens its completed ancestors, a move to
    another list takes the subtasks along (and leaves the parent behind), and the subtask
    counts of every task concerned are set again. A task that lands among other siblings goes
    to their end, or where `place` puts it. If-Match is checked in the task's UPDATE;
    relative reminders follow a new due; webhooks hear of it in the same transaction."""
    events = outbox.watch(
        session=session, user_id=user_id, task_id=task_id, before=_loader(session, user_id, task_id)
    )
    database.begin(session)
    try:
        node = task_tree.get_node(session, user_id=user_id, task_id=task_id, lock=True)
        if node is None or node.deleted_at is not None:
            raise TaskNotFound
        new_list = values.get("list_id", node.list_id)
        if isinstance(parent, uuid.UUID):
            checked = task_tree.check_parent(
                session,
                user_id=user_id,
                parent_id=parent,
                task_id=task_id,
                list_id=values.get("list_id"),
            )
            values["parent_id"] = checked.id
            values["list_id"] = new_list = checked.list_id
        elif parent is None:
            values["parent_id"] = None
        elif new_list != node.list_id and node.parent_id is not None:
            values["parent_id"] = None  # its parent stays in the old list
        new_parent = values.get("parent_id", node.parent_id)
        if place is not None:
            values["position"] = place(session, new_list, new_parent)
        elif (new_list, new_parent) != (node.list_id, node.parent_id):
            values["position"] = creation_key(task_id, values["updated_at"])
        try:
            row = _run_update(
                session, user_id=user_id, task_id=task_id, values=values, expected=expected
            )
        except IntegrityError as exc:
            raise InvalidField("list_id", "no such list") from exc
        if row is None:
            if expected is None:
                raise TaskNotFound
            fail_missing_or_stale(session=session, user_id=user_id, task_id=task_id)
        now = values["updated_at"]
        if new_list != node.list_id:
            task_tree.move_descendants(session, user_id=user_id, task_id=task_id, list_id=new_list)
        moved = task_tree.Node(
            task_id,
            values.get("parent_id", node.parent_id),
            new_list,
            values.get("completed", node.completed),
            None,
        )
        concerned = [task_id, node.parent_id, moved.parent_id]
        if moved.completed and not node.completed:
            concerned += task_tree.complete_descendants(
                session, user_id=user_id, task_id=task_id, now=now
            )
        if not moved.completed:
            concerned += task_tree.reopen_ancestors(session, user_id=user_id, node=moved, now=now)
        task_tree.recount(session, user_id=user_id, task_ids=concerned)
        if tags is not None:
            tag_service.set_task_tags(session=session, user_id=user_id, task_id=task_id, names=tags)
        view = get_task_view(session=session, user_id=user_id, task_id=task_id)
        if "due_sort" in values and isinstance(view.task, ShownTask):
            reminder_service.follow_due(session=session, user_id=user_id, task=view.task, zone=zone)
        events.updated(*view)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return view


def update_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    task_in: CompatTaskUpdate,
    expected: Expected = None,
    zone: str = "UTC",
) -> TaskView:
    """Change the fields sent; the others stay."""
    changes = task_in.model_dump(exclude_unset=True)
    if not changes:
        return checked_view(
            get_task_view(session=session, user_id=user_id, task_id=task_id), expected
        )
    task_recurrence.check_update(session=session, user_id=user_id, task_id=task_id, task_in=task_in)
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    values.update(task_recurrence.update_values(changes))  # pops the recurrence fields
    if "completed" in changes:
        values.update(_completed_values(changes.pop("completed"), now))
    if "priority" in changes:
        values["priority"] = Priority(changes.pop("priority")).level
    if "due" in changes:
        changes.pop("due")
        values.update(_due_values(task_in.due))
    tags: list[str] | None = changes.pop("tags", None)
    parent = changes.pop("parent_id") if "parent_id" in changes else KEEP
    values.update(changes)  # title, description, list_id
    return _update(
        session,
        user_id=user_id,
        task_id=task_id,
        values=values,
        tags=tags,
        expected=expected,
        zone=zone,
        parent=parent,
    )


def move_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    move: TaskMove,
    expected: Expected = None,
) -> TaskView:
    """Into another list or under another parent (each optional, as with PATCH), placed right
    before `move.before`, right after `move.after`, or at the end of its siblings; one row
    written for the order, whatever the number of siblings."""
    database.begin(session)
    task_order.lock_order(session, user_id=user_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    fields = move.model_fields_set
    if move.list_id is not None:
        task_order.check_list(session, user_id=user_id, list_id=move.list_id)
        values["list_id"] = move.list_id
    return _update_tree(
        session,
        user_id=user_id,
        task_id=task_id,
        values=values,
        tags=None,
        parent=move.parent_id if "parent_id" in fields else KEEP,
        expected=expected,
        place=task_order.placement(
            user_id=user_id, task_id=task_id, before=move.before, after=move.after
        ),
    )


def replace_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    task_in: TaskReplace,
    expected: Expected = None,
    zone: str = "UTC",
) -> TaskView:
    """Set every client field; omitted optional ones return to their defaults."""
    task_recurrence.check_new(task_in)
    now = utcnow()
    values: dict[str, Any] = {
        "title": task_in.title,
        "description": task_in.description,
        "priority": task_in.priority.level,
        "updated_at": now,
        **_due_values(task_in.due),
        **_completed_values(task_in.completed, now),
        **task_recurrence.new_values(task_in),
    }
    if task_in.list_id is not None:
        values["list_id"] = task_in.list_id
    parent = task_in.parent_id if task_in.parent_id is not None else KEEP
    return _update(
        session,
        user_id=user_id,
        task_id=task_id,
        values=values,
        tags=list(task_in.tags),
        expected=expected,
        zone=zone,
        parent=parent,
    )


def set_completed(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    completed: bool,
    expected: Expected = None,
    only_if_not_recurring: bool = False,
) -> TaskView:
    """Complete or reopen. Idempotent: a retry leaves the task (and updated_at) unchanged.

    One UPDATE that changes only a task in the other state and returns it (with its tags on
    PostgreSQL); when it matches nothing the task is already in that state (or missing: 404).
    `only_if_not_recurring` leaves an open recurring task as it is (services.completions
    advances it instead).
    """
    events = outbox.watch(session=session, user_id=user_id)
    now = utcnow()
    values = {**_completed_values(completed, now), "updated_at": now}
    row = _run_update(
        session,
        user_id=user_id,
        task_id=task_id,
        values=values,
        only_if_completed_is=not completed,
        expected=expected,
        only_if_not_recurring=only_if_not_recurring,
        leaf_only=True,
    )
    if row is None:
        # Already in that state, stale, part of a tree (the slower path), an open recurring
        # task (left as it is: services.completions advances it), or missing (404 here).
        current = get_task_view(session=session, user_id=user_id, task_id=task_id)
        session.rollback()  # end the read: the write below takes its own transaction
        recurring = only_if_not_recurring and current.task.recurrence is not None
        if current.task.completed != completed and not recurring:
            return _update_tree(
                session,
                user_id=user_id,
                task_id=task_id,
                values=values,
                tags=None,
                parent=KEEP,
                expected=expected,
            )
        view = checked_view(current, expected)  # unchanged: If-Match still applies
    elif len(row) > _TASK_COLUMNS:
        view = _view(row)
    else:
        view = get_task_view(session=session, user_id=user_id, task_id=task_id)
    events.completion(*view, changed=row is not None)
    database.commit(session)
    return view


_DELETE = (
    delete(TASKS)
    .where(
        TASKS.c.id == bindparam("task_id"),
        TASKS.c.user_id == bindparam("user_id"),
        TASKS.c.deleted_at.is_(None),
    )
    .returning(TASKS.c.id)
)


@cache
def _delete_statement(expected_versions: int) -> Any:
    return _DELETE.where(versions_condition(expected_versions))


def delete_task(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, expected: Expected = None
) -> None:
    """One DELETE of the user's task, for good (see services.trash for the trash);
    TaskNotFound if it matched nothing (a missing task, another user's, one in the trash, or
    one a concurrent request deleted first: the same 404), or PreconditionFailed if If-Match
    names another version."""
    events = outbox.watch(
        session=session, user_id=user_id, task_id=task_id, before=_loader(session, user_id, task_id)
    )
    # Its tag links go with it (ON DELETE CASCADE); the tags stay; so do its subtasks (the
    # composite key to the parent cascades), and its parent's counts are set again.
    node = task_tree.get_node(session, user_id=user_id, task_id=task_id)
    if node is not None and node.parent_id is not None:
        database.begin(session)
    params = {"task_id": task_id, "user_id": user_id}
    if expected is None:
        deleted = database.run(session, _DELETE, params, prepare=True)
    elif expected:
        statement = _delete_statement(len(expected))
        deleted = database.run(session, statement, params | versions_params(expected), prepare=True)
    else:
        deleted = []
    if deleted and node is not None and node.parent_id is not None:
        task_tree.recount(session, user_id=user_id, task_ids=[node.parent_id])
    if deleted:
        events.deleted()
    database.commit(session)
    if not deleted:
        if expected is None:
            raise TaskNotFound
        fail_missing_or_stale(session=session, user_id=user_id, task_id=task_id)


@cache
def list_statement(shape: ListShape) -> Any:
    """The listing's SELECT for one shape of request, built once: each task with its tags,
    then the sort values (as the database computes them, so the cursor repeats them exactly:
    lower-casing, relevance scores)."""
    where, rank = where_clause(shape)
    columns = sort_columns(shape.sort, dialect=shape.dialect, rank=rank)
    if shape.cursor_nulls is not None:
        where.append(after_cursor(columns, shape.cursor_nulls))
    keys = [column.expr for column in columns[:-1]]
    return (
        select(*_SHOWN, _tag_names_column(shape.dialect), *keys)
        .where(*where)
        .order_by(*order_by(columns))
        .limit(bindparam("page_limit"))
    )


def list_tasks(
    *,
    session: Session,
    user_id: uuid.UUID,
    query: TaskQuery,
    zone: str = "UTC",
    now: datetime | None = None,
) -> tuple[list[TaskView], str | None]:
    """One page in the requested order, by keyset on the sort keys and the id: no OFFSET,
    no COUNT. One query: the page, each task with its tags."""
    fingerprint = query_fingerprint(query.fingerprint_data())
    request = plan_list(
        user_id=user_id,
        query=query,
        zone=zone,
        now=now or utcnow(),
        dialect=_dialect(session),
        fingerprint=fingerprint,
    )
    rows = database.run(session, list_statement(request.shape), request.params)
    page = rows[: query.limit]
    views = [_view(row) for row in page]
    if len(rows) <= query.limit:
        return views, None
    last = page[-1]
    values: list[Any] = [cursor_value(value) for value in last[_TASK_COLUMNS + 1 :]]
    values.append(str(last[0]))  # the id
    return views, encode_cursor(values, fingerprint)


class StatsRow(NamedTuple):
    total: int
    completed: int
    overdue: int
    due_today: int
    by_priority: dict[Priority, tuple[int, int]]  # (open, total)


def task_stats(
    *,
    session: Session,
    user_id: uuid.UUID,
    zone: str,
    now: datetime | None = None,
    list_ids: Sequence[uuid.UUID] = (),
    archived: bool = False,
) -> StatsRow:
    """Counts from one aggregate query over the user's tasks (no rows are loaded): those in
    list_ids (all lists if empty), tasks of archived lists only if asked."""
    now = now or utcnow()
    is_open = col(Task.completed).is_(False)
    overdue = overdue_condition(bindparam("today", today_in(zone, now)), bindparam("now", now))
    columns: list[Any] = [
        func.count(),
        func.count().filter(col(Task.completed).is_(True)),
        func.count().filter(overdue),
        func.count().filter(due_today_condition(zone, now)),
    ]
    for priority in Priority:
        at_level = col(Task.priority) == priority.level
        columns.append(func.count().filter(at_level, is_open))
        columns.append(func.count().filter(at_level))
    where = visible_conditions(
        bindparam("user_id", user_id),
        [
            bindparam(f"list_{i}", list_id, type_=TASKS.c.list_id.type)
            for i, list_id in enumerate(list_ids)
        ],
        archived,
    )
    row = session.execute(select(*columns).where(*where)).one()
    counts = [int(value) for value in row]
    by_priority = {
        priority: (counts[4 + 2 * i], counts[5 + 2 * i]) for i, priority in enumerate(Priority)
    }
    return StatsRow(counts[0], counts[1], counts[2], counts[3], by_priority)
