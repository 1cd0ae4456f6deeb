"""Import a file into an account: read (one reader per format), check (services.porting.
validate, the API's own schemas and limits), then write everything in one transaction, or,
for a dry run, only say what would be written. Every query is scoped by user_id.

A task an import creates is recorded (import_records) under its source and external id: the
same file imported again skips it, and its subtasks find it as their parent.
"""

import uuid
from collections.abc import Callable

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app import database
from app.core.porting_errors import ImportInvalid
from app.models import ImportRecord, TaskList, User
from app.models.task import TASKS
from app.schemas.porting import ImportCounts, ImportProblem, ImportReport
from app.schemas.values import TagName, tag_key
from app.services.porting import read_csv, read_ics, read_json, read_todoist, write
from app.services.porting.plan import ImportPlan
from app.services.porting.read_csv import digest
from app.services.porting.validate import (
    CheckedTask,
    check_list,
    check_task,
    follow_parents,
    link_parents,
)
from app.services.task_tree import MAX_DEPTH, ancestors, get_node

Reader = Callable[[bytes, str, int], ImportPlan]

READERS: dict[str, Reader] = {
    "json": lambda data, _zone, _limit: read_json.read(data),
    "csv": lambda data, _zone, _limit: read_csv.read(data),
    "ics": lambda data, zone, limit: read_ics.read(data, timezone=zone, max_components=limit),
    "todoist": lambda data, zone, _limit: read_todoist.read(data, timezone=zone),
}
_CHUNK = 500
_TAG_NAME = TypeAdapter(TagName)
MAX_EXTERNAL_ID = 255  # import_records.external_id


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


def _already_imported(
    session: Session, user_id: uuid.UUID, source: str, external_ids: list[str]
) -> dict[str, uuid.UUID]:
    """External id -> the live task an earlier import (or, for our JSON, the account itself:
    a backup restored into the account it came from) has for it."""
    found: dict[str, uuid.UUID] = {}
    for chunk in _chunks(external_ids):
        rows = session.execute(
            select(col(ImportRecord.external_id), col(ImportRecord.task_id)).where(
                col(ImportRecord.user_id) == user_id,
                col(ImportRecord.source) == source,
                col(ImportRecord.external_id).in_(chunk),
            )
        )
        for external, task_id in rows:
            found[external] = task_id
    if source == "json":
        ids = []
        for external in external_ids:
            try:
                ids.append(uuid.UUID(external))
            except ValueError:
                continue
        for start in range(0, len(ids), _CHUNK):
            rows = session.execute(
                select(TASKS.c.id).where(
                    TASKS.c.user_id == user_id, TASKS.c.id.in_(ids[start : start + _CHUNK])
                )
            )
            found.update({str(task_id): task_id for (task_id,) in rows})
    return found


def _existing_parent(
    session: Session, user_id: uuid.UUID, task: CheckedTask, task_id: uuid.UUID, plan: ImportPlan
) -> write.Existing | None:
    """A parent an earlier import created: still there, and room below it for this subtree."""
    node = get_node(session, user_id=user_id, task_id=task_id)
    name = f"{task.planned.label}.parent_id" if task.planned.label else "parent_id"
    if node is None or node.deleted_at is not None:
        plan.problem(task.planned.line, name, "its parent was imported before and is gone")
        return None
    depth = len(ancestors(session, user_id=user_id, node=node)) + 1
    height = _height(task)
    if depth + height > MAX_DEPTH:
        plan.problem(task.planned.line, name, f"subtasks go at most {MAX_DEPTH} levels deep")
        return None
    return write.Existing(node.id, node.list_id)


def _height(task: CheckedTask) -> int:
    """Levels in the task's subtree, itself included (a loop: a file may chain thousands)."""
    height, level = 0, [task]
    while level:
        height += 1
        level = [child for node in level for child in node.children]
    return height


def _lists(
    session: Session,
    user_id: uuid.UUID,
    plan: ImportPlan,
    tasks: list[CheckedTask],
    default_list: str | None,
) -> write.ListPlan:
    """Which list each top-level task goes to: an existing list of that name (the Inbox for
    our export's Inbox), else a new one."""
    existing = {
        name_key: (list_id, inbox)
        for list_id, name_key, inbox in session.execute(
            select(col(TaskList.id), col(TaskList.name_key), col(TaskList.inbox)).where(
                col(TaskList.user_id) == user_id
            )
        )
    }
    inbox_id = next((list_id for list_id, inbox in existing.values() if inbox), None)
    by_key = {planned.key: planned for planned in plan.lists}
    lists = write.ListPlan(inbox_id=inbox_id)
    for item in plan.lists:
        if item.inbox and item.values:
            # Our export's Inbox: its colour and place go to the account's own Inbox.
            checked = check_list(plan, item)
            if checked is not None:
                lists.inbox_values = {"color": checked.color, "position": checked.position}
    for task in tasks:
        if task.parent is not None or task.existing_parent is not None:
            continue
        key = task.planned.list_key or default_list
        planned = by_key.get(key) if key is not None else None
        if planned is None and key is not None and plan.source == "json":
            where = f"{task.planned.label}.list_id"
            plan.problem(task.planned.line, where, "no such list in the file")
            continue
        if key is None or (planned is not None and planned.inbox):
            task.list_ref = write.INBOX
            continue
        name = planned.name if planned is not None else key
        found = existing.get(tag_key(name))
        if found is not None:
            task.list_ref = found[0]
            continue
        if tag_key(name) not in lists.new:
            checked = check_list(plan, planned or write.named_list(name, task.planned.line))
            if checked is None:
                continue
            lists.new[tag_key(name)] = checked
        task.list_ref = tag_key(name)
    return lists


def _tags(plan: ImportPlan) -> set[str]:
    """The file's own tag list (our export's `tags`, those on no task too), checked."""
    names: set[str] = set()
    for index, name in enumerate(plan.tags):
        try:
            names.add(_TAG_NAME.validate_python(name))
        except ValidationError as exc:
            plan.problem(None, f"tags[{index}]", exc.errors()[0]["msg"])
    return names


def run_import(
    *,
    session: Session,
    user_id: uuid.UUID,
    format: str,
    data: bytes,
    dry_run: bool,
    max_tasks: int,
    default_list: str | None = None,
    retry: bool = True,
) -> ImportReport:
    """Read, check and (unless dry_run) write the file; ImportInvalid (nothing written) for
    a real import with problems."""
    zone = session.scalars(select(col(User.timezone)).where(col(User.id) == user_id)).one()
    plan = READERS[format](data, zone, max_tasks * 4 + 100)
    for planned in plan.tasks:
        if len(planned.external_id) > MAX_EXTERNAL_ID:
            planned.external_id = digest(planned.external_id)
    checked = [task for task in (check_task(plan, t) for t in plan.tasks) if task]
    known = _already_imported(
        session, user_id, plan.source, sorted({t.planned.external_id for t in checked})
    )
    skipped = [task for task in checked if task.planned.external_id in known]
    fresh = [task for task in checked if task.planned.external_id not in known]
    # Refs of the file that name tasks created before: by their ref in this file.
    elsewhere = {task.planned.ref: known[task.planned.external_id] for task in skipped}
    ordered = link_parents(plan, fresh, set(elsewhere))
    follow_parents(plan, ordered)
    for task in ordered:
        ref = task.planned.parent_ref
        if task.parent is None and ref is not None and ref in elsewhere:
            task.existing_parent = _existing_parent(session, user_id, task, elsewhere[ref], plan)
    if len(ordered) > max_tasks:
        plan.problem(None, "file", f"more than {max_tasks} tasks (IMPORT_MAX_TASKS)")
    lists = _lists(session, user_id, plan, ordered, default_list)
    names = sorted({tag for task in ordered for tag in task.task_in.tags} | _tags(plan))
    counts = ImportCounts(
        lists=len(lists.new),
        tasks=len(ordered),
        tags=write.count_new_tags(session, user_id, names),
        reminders=sum(len(task.reminders) for task in ordered),
        completions=sum(len(task.completions) for task in ordered),
    )
    report = ImportReport(
        format=format,
        dry_run=dry_run,
        created=counts,
        skipped=len(skipped),
        warnings=[ImportProblem.model_validate(item) for item in plan.warnings],
    )
    session.rollback()  # what was read to check the file; nothing was written yet
    if plan.problems:
        failure = ImportInvalid(plan.problems)
        failure.members["warnings"] = plan.warnings
        failure.members["dry_run"] = dry_run
        raise failure
    if dry_run:
        return report
    try:
        with database.one_transaction(session):
            write.write_all(
                session,
                user_id=user_id,
                source=plan.source,
                zone=zone,
                tasks=ordered,
                lists=lists,
                tag_names=names,
                profile=plan.profile,
            )
    except IntegrityError:
        # A list of the same name or the same file's records committed by a concurrent
        # request since the checks above (the unique keys decide; the checks alone race).
        # Rolled back already: once more, the checks now see what the other one wrote.
        if not retry:
            raise
        return run_import(
            session=session,
            user_id=user_id,
            format=format,
            data=data,
            dry_run=dry_run,
            max_tasks=max_tasks,
            default_list=default_list,
            retry=False,
        )
    return report
