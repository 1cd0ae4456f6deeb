"""An ImportPlan checked with the API's own rules: each task through CompatTaskCreate (title,
priority, due, tags, recurrence), its reminders through the reminder schemas (at most 10),
its completions and extras through schemas.porting, lists through ListCreate, and the file's
parent links for missing parents, cycles and the 4-level limit. Pure: no database."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.schemas.porting import ImportedCompletion, ImportedTaskExtras
from app.schemas.reminder import ReminderFields, ReminderIn, reminder_fields
from app.schemas.task import CompatTaskCreate
from app.schemas.task_list import ListCreate
from app.schemas.values import tag_key
from app.services.porting.plan import ImportPlan, PlannedList, PlannedTask
from app.services.reminders import MAX_REMINDERS_PER_TASK
from app.services.task_recurrence import NEEDS_DUE
from app.services.task_tree import MAX_DEPTH

_REMINDER = TypeAdapter(ReminderIn)


@dataclass
class CheckedTask:
    planned: PlannedTask
    task_in: CompatTaskCreate
    extras: ImportedTaskExtras
    reminders: list[ReminderFields]
    completions: list[ImportedCompletion]
    parent: "CheckedTask | None" = None
    depth: int = 1  # 1: top level in the file (an existing parent adds its own)
    children: list["CheckedTask"] = field(default_factory=list)
    # Set by the import service: a parent an earlier import created (write.Existing), and
    # where a top-level task goes (write.INBOX, a list id, or the key of a new list).
    existing_parent: Any = None
    list_ref: Any = None
    # Set by write: the new task's id, list and parent.
    id: Any = None
    list_id: Any = None
    parent_id: Any = None


def _name(planned: PlannedTask, name: str) -> str:
    return f"{planned.label}.{name}" if planned.label else name


def _errors(plan: ImportPlan, planned: PlannedTask, prefix: str, exc: ValidationError) -> None:
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "value"
        plan.problem(planned.line, _name(planned, f"{prefix}{where}"), error["msg"])


def check_task(plan: ImportPlan, planned: PlannedTask) -> CheckedTask | None:
    """The task as the API would take it, or None with every problem of it noted."""
    ok = True
    task_in = extras = None
    try:
        task_in = CompatTaskCreate.model_validate(planned.values)
    except ValidationError as exc:
        _errors(plan, planned, "", exc)
        ok = False
    if task_in is not None and task_in.recurrence is not None and task_in.due is None:
        plan.problem(planned.line, _name(planned, "recurrence"), NEEDS_DUE)
        ok = False
    try:
        extras = ImportedTaskExtras.model_validate(planned.extras)
    except ValidationError as exc:
        _errors(plan, planned, "", exc)
        ok = False
    if len(planned.reminders) > MAX_REMINDERS_PER_TASK:
        plan.problem(
            planned.line,
            _name(planned, "reminders"),
            f"a task has at most {MAX_REMINDERS_PER_TASK} reminders",
        )
        ok = False
    reminders: list[ReminderFields] = []
    for index, raw in enumerate(planned.reminders):
        try:
            reminders.append(reminder_fields(_REMINDER.validate_python(raw)))
        except ValidationError as exc:
            _errors(plan, planned, f"reminders.{index}.", exc)
            ok = False
    completions: list[ImportedCompletion] = []
    for index, raw in enumerate(planned.completions):
        try:
            completions.append(ImportedCompletion.model_validate(raw))
        except ValidationError as exc:
            _errors(plan, planned, f"completions.{index}.", exc)
            ok = False
    if not ok or task_in is None or extras is None:
        return None
    return CheckedTask(planned, task_in, extras, reminders, completions)


def check_list(plan: ImportPlan, planned: PlannedList) -> ListCreate | None:
    try:
        return ListCreate.model_validate({"name": planned.name, **planned.values})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            plan.problem(planned.line, f"list {planned.name!r}.{where}", error["msg"])
        return None


def link_parents(
    plan: ImportPlan, tasks: list[CheckedTask], known_elsewhere: set[str]
) -> list[CheckedTask]:
    """Link each task to its parent in the file; a ref in known_elsewhere (a task an earlier
    import created) is left for the caller. Notes missing parents, cycles and trees deeper
    than MAX_DEPTH; answers the tasks parents first."""
    by_ref: dict[str, CheckedTask] = {}
    for task in tasks:
        if task.planned.ref in by_ref:
            plan.problem(task.planned.line, _name(task.planned, "id"), "used by two tasks")
        by_ref[task.planned.ref] = task
    for task in tasks:
        ref = task.planned.parent_ref
        if ref is None or ref in known_elsewhere:
            continue
        parent = by_ref.get(ref)
        if parent is None:
            plan.problem(task.planned.line, _name(task.planned, "parent_id"), "no such task")
            continue
        task.parent = parent
        parent.children.append(task)
    ordered: list[CheckedTask] = []
    level = [task for task in tasks if task.parent is None]
    depth = 1
    while level:
        for task in level:
            task.depth = depth
            if depth > MAX_DEPTH:
                plan.problem(
                    task.planned.line,
                    _name(task.planned, "parent_id"),
                    f"subtasks go at most {MAX_DEPTH} levels deep",
                )
        ordered += level
        level = [child for task in level for child in task.children]
        depth += 1
    placed = {id(task) for task in ordered}
    for task in tasks:
        if id(task) not in placed:
            plan.problem(
                task.planned.line,
                _name(task.planned, "parent_id"),
                "a task cannot go under itself or its subtasks",
            )
    return ordered


def root(task: CheckedTask) -> CheckedTask:
    while task.parent is not None:
        task = task.parent
    return task


def follow_parents(plan: ImportPlan, ordered: list[CheckedTask]) -> None:
    """The rules of a subtree, as the API keeps them: a subtask is in its parent's list (a
    different list named for it is a problem), and an open subtask keeps its ancestors open
    (a completed one is reopened, with a warning)."""
    for task in ordered:
        parent = task.parent
        if parent is None:
            continue
        mine, theirs = task.planned.list_key, root(parent).planned.list_key
        if mine is not None and theirs is not None and _same_list(plan, mine, theirs) is False:
            plan.problem(
                task.planned.line, _name(task.planned, "list"), "the parent is in another list"
            )
    for task in reversed(ordered):  # deepest first, so a reopened parent reopens its own
        parent = task.parent
        if parent is not None and not task.task_in.completed and parent.task_in.completed:
            parent.task_in = parent.task_in.model_copy(update={"completed": False})
            parent.extras = parent.extras.model_copy(update={"completed_at": None})
            plan.warn(
                parent.planned.line,
                _name(parent.planned, "completed"),
                "reopened: it has an open subtask",
            )


def _same_list(plan: ImportPlan, first: str, second: str) -> bool:
    if plan.source == "json":
        return first == second
    return tag_key(first) == tag_key(second)
