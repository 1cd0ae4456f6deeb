"""Completing, skipping and previewing recurring tasks (issue 19).

Completing an open recurring task records a completion and moves its due to the next
occurrence (or closes it when the series is over), in one transaction. The write is guarded
by the due that was read: `UPDATE tasks ... WHERE id = :id AND user_id = :user AND
due_sort = :seen`. Two completes of one occurrence (a retry, two tabs) compute the same next
due from the same read, and only the first finds the due it read; the second changes nothing
and answers with the task as it now is. A client that sends the due it saw makes a
sequential retry safe too: an occurrence that is no longer current is not completed again.
With `If-Match` (issue 17) the advance also carries `version = :expected`, so a stale
version is a 412 and nothing is written. Every advance bumps the version, like any write.
"""

import uuid
from contextlib import suppress
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlmodel import Session

from app import database
from app.core.errors import NotRecurring, TaskNotFound
from app.core.etags import Expected
from app.core.recurrence import Basis, local_time_of_day, next_occurrence, parse_rule, upcoming
from app.models import TaskCompletion
from app.models.base import utcnow
from app.models.task import TASKS
from app.services import reminders as reminder_service
from app.services import tasks as task_service
from app.services.reminders import REMINDERS
from app.services.task_versions import fail_missing_or_stale, versions_condition, versions_params
from app.services.tasks import ShownTask, TaskView

COMPLETIONS: Table = TaskCompletion.__table__  # type: ignore[attr-defined]
_SHOWN = [TASKS.c[name] for name in ShownTask._fields]
_SORT_TYPE = TASKS.c.due_sort.type


class CompletionRow(NamedTuple):
    due: date | datetime
    completed_at: datetime


def _due(task: ShownTask) -> date | datetime | None:
    return task.due_date if task.due_date is not None else task.due_at


def _due_sort(due: date | datetime) -> datetime:
    if isinstance(due, datetime):
        return due
    return datetime.combine(due, time(), UTC)


_ADVANCE = (
    update(TASKS)
    .where(
        TASKS.c.id == bindparam("the_task"),
        TASKS.c.user_id == bindparam("the_owner"),
        TASKS.c.completed.is_(False),
        TASKS.c.deleted_at.is_(None),
        # The guard: only the due this request read is advanced.
        TASKS.c.due_sort == bindparam("seen_due", type_=_SORT_TYPE),
    )
    .values(
        due_date=bindparam("new_due_date", type_=TASKS.c.due_date.type),
        due_at=bindparam("new_due_at", type_=TASKS.c.due_at.type),
        due_sort=bindparam("new_due_sort", type_=_SORT_TYPE),
        recurrence_done=bindparam("new_done", type_=TASKS.c.recurrence_done.type),
        recurrence_time=bindparam("new_time", type_=TASKS.c.recurrence_time.type),
        completed=bindparam("new_completed", type_=TASKS.c.completed.type),
        completed_at=bindparam("new_completed_at", type_=TASKS.c.completed_at.type),
        updated_at=bindparam("new_updated_at", type_=TASKS.c.updated_at.type),
        version=TASKS.c.version + 1,
    )
    .returning(*_SHOWN)
)
_RECORD = insert(COMPLETIONS).values(
    {column.name: bindparam(column.name, type_=column.type) for column in COMPLETIONS.c}
)


def _fast_complete() -> Any:
    """PostgreSQL, for a task without relative reminders (the common case): the guarded
    advance and the completion row in one statement, so one implicit transaction and one
    round trip: `WITH advanced AS (UPDATE ... RETURNING ...), recorded AS (INSERT ... SELECT
    ... FROM advanced) SELECT * FROM advanced`. A task with relative reminders matches
    nothing here and takes the general path, which moves them in the same transaction."""
    no_relative_reminders = ~exists().where(
        REMINDERS.c.task_id == TASKS.c.id,
        REMINDERS.c.user_id == TASKS.c.user_id,
        REMINDERS.c.before.is_not(None),
    )
    advanced = _ADVANCE.where(no_relative_reminders).cte("advanced")
    recorded = insert(COMPLETIONS).from_select(
        ["id", "user_id", "task_id", "due_date", "due_at", "completed_at"],
        select(
            bindparam("completion_id", type_=COMPLETIONS.c.id.type),
            bindparam("the_owner", type_=COMPLETIONS.c.user_id.type),
            advanced.c.id,
            bindparam("old_due_date", type_=COMPLETIONS.c.due_date.type),
            bindparam("old_due_at", type_=COMPLETIONS.c.due_at.type),
            bindparam("new_updated_at", type_=COMPLETIONS.c.completed_at.type),
        ).select_from(advanced),
    )
    return select(*[advanced.c[name] for name in ShownTask._fields]).add_cte(
        recorded.cte("recorded")
    )


_FAST_COMPLETE = _fast_complete()


@cache
def _advance_statement(expected_versions: int) -> Any:
    """The advance, with If-Match's version check in the same statement when there is one."""
    if not expected_versions:
        return _ADVANCE
    return _ADVANCE.where(versions_condition(expected_versions))


def complete_task(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    zone: str,
    seen_due: date | datetime | None = None,
    now: datetime | None = None,
    expected: Expected = None,
) -> TaskView:
    """Mark a task done. A task that does not recur is completed as before (one statement);
    an open recurring one records a completion and moves on to its next occurrence, or
    closes when its series is over. `seen_due`: complete only if that is still the due.
    `expected`: If-Match's versions (412 when the task is at another one)."""
    view = task_service.set_completed(
        session=session,
        user_id=user_id,
        task_id=task_id,
        completed=True,
        only_if_not_recurring=True,
        expected=expected,
    )
    task = view.task
    if not isinstance(task, ShownTask) or task.completed or task.recurrence is None:
        return view
    return _advance(
        session, user_id, view, zone, seen_due, now or utcnow(), record=True, expected=expected
    )


def skip_occurrence(
    *,
    session: Session,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    zone: str,
    seen_due: date | datetime | None = None,
    now: datetime | None = None,
    expected: Expected = None,
) -> TaskView:
    """Move an open recurring task to its next occurrence without completing this one
    (nothing is recorded); past the last occurrence the task closes. NotRecurring for a task
    without a recurrence or whose series is over."""
    view = task_service.get_task_view(session=session, user_id=user_id, task_id=task_id)
    task = view.task
    if not isinstance(task, ShownTask) or task.recurrence is None or task.completed:
        raise NotRecurring
    return _advance(
        session, user_id, view, zone, seen_due, now or utcnow(), record=False, expected=expected
    )


def _advance(
    session: Session,
    user_id: uuid.UUID,
    view: TaskView,
    zone: str,
    seen_due: date | datetime | None,
    now: datetime,
    *,
    record: bool,
    expected: Expected = None,
) -> TaskView:
    task = view.task
    assert isinstance(task, ShownTask)  # noqa: S101 - checked by the callers
    due = _due(task)
    if due is None or task.recurrence is None:
        # A recurrence always has a due (the API refuses one without); be safe anyway.
        raise NotRecurring
    if seen_due is not None and _due_sort(seen_due) != _due_sort(due):
        return view  # that occurrence is done already
    wall_time = task.recurrence_time
    if wall_time is None and isinstance(due, datetime):
        with suppress(OverflowError):  # a due at the very edge of the calendar
            wall_time = local_time_of_day(due, zone)
    following = next_occurrence(
        parse_rule(task.recurrence),
        due=due,
        zone=zone,
        basis=Basis(task.recurrence_basis),
        count_done=task.recurrence_done,
        completed_at=now,
        time_of_day=wall_time,
    )
    params: dict[str, Any] = {
        "the_task": task.id,
        "the_owner": user_id,
        "seen_due": _due_sort(due),
        "new_done": task.recurrence_done + 1,
        "new_time": wall_time,
        "new_updated_at": now,
    }
    if following is None:  # the series is over: the task closes for good, at its last due
        params.update(
            new_due_date=task.due_date,
            new_due_at=task.due_at,
            new_due_sort=_due_sort(due),
            new_completed=True,
            new_completed_at=now,
        )
    else:
        params.update(
            new_due_date=following if not isinstance(following, datetime) else None,
            new_due_at=following if isinstance(following, datetime) else None,
            new_due_sort=_due_sort(following),
            new_completed=False,
            new_completed_at=None,
        )
    params.update(versions_params(expected))
    if expected == ():
        fail_missing_or_stale(session=session, user_id=user_id, task_id=task.id)
    if record and expected is None and session.get_bind().dialect.name == "postgresql":
        fast = database.run(
            session,
            _FAST_COMPLETE,
            {
                **params,
                "completion_id": uuid.uuid4(),
                "old_due_date": task.due_date,
                "old_due_at": task.due_at,
            },
            prepare=True,
        )
        database.commit(session)  # when run() joined a transaction (tests bind to one)
        if fast:
            return TaskView(ShownTask._make(fast[0]), view.tags)
        # Not advanced: relative reminders to move, or another request was first.
    database.begin(session)
    statement = _advance_statement(len(expected) if expected is not None else 0)
    rows = database.run(session, statement, params)
    if not rows:
        session.rollback()
        if expected is not None:
            # If-Match was sent: the version (or the due) moved since it was read: 412.
            fail_missing_or_stale(session=session, user_id=user_id, task_id=task.id)
        # Another request advanced (or changed) the task since it was read: answer with
        # the task as it is now, changing nothing.
        return task_service.get_task_view(session=session, user_id=user_id, task_id=task.id)
    advanced = ShownTask._make(rows[0])
    if record:
        database.run(
            session,
            _RECORD,
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "task_id": task.id,
                "due_date": task.due_date,
                "due_at": task.due_at,
                "completed_at": now,
            },
        )
    if following is not None:
        reminder_service.follow_due(session=session, user_id=user_id, task=advanced, zone=zone)
    database.commit(session)
    return TaskView(advanced, view.tags)


MAX_COMPLETIONS = 100


def list_completions(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, limit: int
) -> list[CompletionRow]:
    """The task's completed occurrences, newest first; TaskNotFound if it is not the user's."""
    exists = session.execute(
        select(TASKS.c.id).where(
            TASKS.c.id == task_id, TASKS.c.user_id == user_id, TASKS.c.deleted_at.is_(None)
        )
    ).first()
    if exists is None:
        raise TaskNotFound
    rows = session.execute(
        select(COMPLETIONS.c.due_date, COMPLETIONS.c.due_at, COMPLETIONS.c.completed_at)
        .where(COMPLETIONS.c.task_id == task_id, COMPLETIONS.c.user_id == user_id)
        .order_by(COMPLETIONS.c.completed_at.desc(), COMPLETIONS.c.id.desc())
        .limit(limit)
    ).all()
    return [
        CompletionRow(due_date if due_date is not None else due_at, completed_at)
        for due_date, due_at, completed_at in rows
    ]


def preview(
    *, session: Session, user_id: uuid.UUID, task_id: uuid.UUID, zone: str, limit: int
) -> list[date | datetime]:
    """The task's current due and the occurrences after it, at most `limit` in all."""
    task = task_service.get_task_view(session=session, user_id=user_id, task_id=task_id).task
    assert isinstance(task, ShownTask)  # noqa: S101 - get_task_view reads ShownTask rows
    due = _due(task)
    if due is None or task.completed:
        return []
    if task.recurrence is None:
        return [due]
    return upcoming(
        parse_rule(task.recurrence),
        due=due,
        zone=zone,
        limit=limit,
        count_done=task.recurrence_done,
        time_of_day=task.recurrence_time,
    )
