"""The writes of an import, all in the caller's transaction (imports.run_import holds it
open with database.one_transaction): lists, tasks level by level (parents first), tags,
reminders, completions, subtask counts, import records, and our export's profile settings.

Each task is announced to the user's webhooks (`task.created`) as a create would be.
The columns are derived as the task services derive them: the due columns, the recurrence
columns (task_recurrence.new_values), a reminder's next firing (reminders.fire_time), the
subtask counts (task_tree.recount). Rows go in with one multi-row INSERT per level or table.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, NamedTuple

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from app.core.ordering import creation_key
from app.models import ImportRecord, Tag, TaskList, TaskTag, User
from app.models.base import utcnow
from app.models.task import TASKS
from app.schemas.task import task_document
from app.schemas.task_list import ListCreate
from app.schemas.user import UserUpdate
from app.schemas.values import tag_key
from app.services import lists as list_service
from app.services import outbox, task_recurrence, task_tree
from app.services import tags as tag_service
from app.services.porting.export import COMPLETIONS
from app.services.porting.plan import PlannedList
from app.services.porting.validate import CheckedTask
from app.services.reminders import REMINDERS, fire_time
from app.services.tasks import TaskRecord

INBOX: Final = "inbox"
_BATCH = 1000


class Existing(NamedTuple):
    id: uuid.UUID
    list_id: uuid.UUID


@dataclass
class ListPlan:
    inbox_id: uuid.UUID | None
    new: dict[str, ListCreate] = field(default_factory=dict)  # by name key
    inbox_values: dict[str, Any] = field(default_factory=dict)  # color, position


def named_list(name: str, line: int | None) -> PlannedList:
    return PlannedList(key=name, name=name, line=line)


def count_new_tags(session: Session, user_id: uuid.UUID, names: list[str]) -> int:
    keys = {tag_key(name) for name in names}
    found: set[str] = set()
    wanted = sorted(keys)
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(col(Tag.name_key)).where(
                    col(Tag.user_id) == user_id, col(Tag.name_key).in_(wanted[start : start + 500])
                )
            )
        )
    return len(keys - found)


def _due_columns(due: date | datetime | None) -> dict[str, Any]:
    if isinstance(due, datetime):
        return {"due_date": None, "due_at": due, "due_sort": due}
    if isinstance(due, date):
        return {"due_date": due, "due_at": None, "due_sort": datetime.combine(due, time(), UTC)}
    return {"due_date": None, "due_at": None, "due_sort": None}


def _create_lists(session: Session, user_id: uuid.UUID, lists: ListPlan) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    now = utcnow()
    for key, list_in in lists.new.items():
        ids[key] = uuid.uuid4()
        session.execute(
            insert(TaskList).values(
                id=ids[key],
                user_id=user_id,
                name=list_in.name,
                name_key=list_service.name_key(list_in.name),
                color=list_in.color,
                position=list_in.position,
                archived=list_in.archived,
                inbox=False,
                created_at=now,
                updated_at=now,
            )
        )
    return ids


def _task_row(task: CheckedTask, user_id: uuid.UUID, now: datetime, index: int) -> dict[str, Any]:
    task_in, extras = task.task_in, task.extras
    recurrence = task_recurrence.new_values(task_in)
    if task_in.recurrence is not None:
        recurrence["recurrence_done"] = extras.recurrence_done
        if extras.recurrence_time is not None:
            recurrence["recurrence_time"] = time.fromisoformat(extras.recurrence_time)
    completed_at = extras.completed_at or (now if task_in.completed else None)
    return {
        "id": task.id,
        "user_id": user_id,
        "title": task_in.title,
        "description": task_in.description,
        "completed": task_in.completed,
        "completed_at": completed_at if task_in.completed else None,
        "priority": task_in.priority.level,
        "created_at": extras.created_at or now,
        "updated_at": extras.updated_at or now,
        "list_id": task.list_id,
        "deleted_at": None,
        "version": 1,
        "parent_id": task.parent_id,
        "subtask_count": 0,
        "open_subtask_count": 0,
        # Our export's place, or the file's order: each task a microsecond after the one
        # before it, after every task the account has (app.core.ordering).
        "position": extras.position or creation_key(task.id, now + timedelta(microseconds=index)),
        **_due_columns(task_in.due),
        **recurrence,
    }


def _place(
    tasks: list[CheckedTask], lists: ListPlan, new_lists: dict[str, uuid.UUID], inbox: uuid.UUID
) -> None:
    """Give every task its id, list and parent id (parents come first)."""
    for task in tasks:
        task.id = uuid.uuid4()
        if task.parent is not None:
            task.list_id, task.parent_id = task.parent.list_id, task.parent.id
        elif task.existing_parent is not None:
            task.list_id, task.parent_id = task.existing_parent.list_id, task.existing_parent.id
        else:
            ref = task.list_ref
            task.list_id = inbox if ref == INBOX or ref is None else new_lists.get(ref, ref)
            task.parent_id = None


def _apply_profile(session: Session, user_id: uuid.UUID, profile: dict[str, Any] | None) -> None:
    if not profile:
        return
    try:
        changes = UserUpdate.model_validate(
            {key: value for key, value in profile.items() if value is not None}
        ).model_dump(exclude_unset=True)
    except ValidationError:
        return  # a profile we cannot read is left as it is: the tasks are what matters
    if changes:
        session.execute(
            update(User).where(col(User.id) == user_id).values(**changes, updated_at=utcnow())
        )


def write_all(
    session: Session,
    *,
    user_id: uuid.UUID,
    source: str,
    zone: str,
    tasks: list[CheckedTask],
    lists: ListPlan,
    tag_names: list[str],
    profile: dict[str, Any] | None,
) -> None:
    now = utcnow()
    inbox = lists.inbox_id or list_service.ensure_inbox(session=session, user_id=user_id)
    new_lists = _create_lists(session, user_id, lists)
    if lists.inbox_values:
        session.execute(
            update(TaskList)
            .where(col(TaskList.id) == inbox, col(TaskList.user_id) == user_id)
            .values(**lists.inbox_values, updated_at=now)
        )
    _place(tasks, lists, new_lists, inbox)
    by_depth: dict[int, list[dict[str, Any]]] = {}
    rows_by_task: dict[uuid.UUID, dict[str, Any]] = {}
    for index, task in enumerate(tasks):
        row = rows_by_task[task.id] = _task_row(task, user_id, now, index)
        by_depth.setdefault(task.depth, []).append(row)
    for depth in sorted(by_depth):
        rows = by_depth[depth]
        for start in range(0, len(rows), _BATCH):
            session.execute(insert(TASKS), rows[start : start + _BATCH])
    tags = {
        tag.name_key: tag.id
        for tag in tag_service.resolve_tags(session=session, user_id=user_id, names=tag_names)
    }
    links = [
        {"task_id": task.id, "tag_id": tags[tag_key(name)], "user_id": user_id}
        for task in tasks
        for name in task.task_in.tags
    ]
    reminders = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "task_id": task.id,
            "at": fields.at,
            "before": fields.before,
            "time": fields.at_time,
            "fire_at": fire_time(
                at=fields.at,
                before=fields.before,
                at_time=fields.at_time,
                due_date=_due_columns(task.task_in.due)["due_date"],
                due_at=_due_columns(task.task_in.due)["due_at"],
                zone=zone,
            ),
            "fired_at": None,
            "missed": False,
            # A task's reminders are listed by created_at: a microsecond apart keeps the
            # file's order.
            "created_at": now + timedelta(microseconds=number),
        }
        for task in tasks
        for number, fields in enumerate(task.reminders)
    ]
    completions = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "task_id": task.id,
            **{
                key: value
                for key, value in _due_columns(completion.due).items()
                if key != "due_sort"
            },
            "completed_at": completion.completed_at,
        }
        for task in tasks
        for completion in task.completions
    ]
    records = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "source": source,
            "external_id": task.planned.external_id[:255],
            "task_id": task.id,
            "created_at": now,
        }
        for task in tasks
    ]
    for table, rows in (
        (TaskTag.__table__, links),  # type: ignore[attr-defined]
        (REMINDERS, reminders),
        (COMPLETIONS, completions),
        (ImportRecord.__table__, records),  # type: ignore[attr-defined]
    ):
        for start in range(0, len(rows), _BATCH):
            session.execute(insert(table), rows[start : start + _BATCH])
    parents = {task.parent_id for task in tasks if task.parent_id is not None}
    task_tree.recount(session, user_id=user_id, task_ids=parents)
    _apply_profile(session, user_id, profile)
    _announce(session, user_id, tasks, rows_by_task)


def _announce(
    session: Session,
    user_id: uuid.UUID,
    tasks: list[CheckedTask],
    rows: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """A `task.created` per task for the user's webhooks, in the import's transaction, as a
    create through the API sends one (only for a user who has webhooks)."""
    if not outbox.has_subscriptions(session=session, user_id=user_id):
        return
    for task in tasks:
        record = TaskRecord(**rows[task.id])
        outbox.record_event(
            session=session,
            user_id=user_id,
            type="task.created",
            data=task_document(record, list(task.task_in.tags)),
        )
