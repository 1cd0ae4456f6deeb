"""The MCP tools: each one parses its arguments with the REST API's own request models and
calls one service function with the caller's user_id, like a router handler.

A tool is a `ToolSpec`: its name, a one-line description, the scopes it needs (checked by
`app.mcp.scopes.require_scopes` before it runs), whether it writes, its input and output JSON
schemas, and `run(session, caller, arguments)`, which runs on a worker thread with a session
already bound to the caller (row-level security) and returns the structured result.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.types import Tool, ToolAnnotations
from sqlmodel import Session

from app.core.callers import Caller
from app.mcp import arguments as args
from app.mcp.arguments import Arguments
from app.mcp.list_tools import add_list, list_lists, move_task
from app.mcp.reminder_tools import add_reminder, list_reminders, upcoming_reminders
from app.mcp.scopes import LISTS_READ, LISTS_WRITE, TAGS_READ, TASKS_READ, TASKS_WRITE
from app.schemas.mcp import (
    ListList,
    ListsArguments,
    MoveArguments,
    ReminderArguments,
    ReminderList,
    TagList,
    TaskDeleted,
    TaskRef,
    TaskUpdateArguments,
    UpcomingArguments,
    UpcomingList,
)
from app.schemas.reminder import (
    ReminderPublic,
)
from app.schemas.tag import TagPublic
from app.schemas.task import TaskCreate, TaskPage, TaskPublic, TaskUpdate
from app.schemas.task_list import ListCreate, ListPublic
from app.schemas.task_query import TaskQuery, TaskStats
from app.services import completions as completion_service
from app.services import tags as tag_service
from app.services import task_stats as stats_service
from app.services import tasks as task_service
from app.services import trash as trash_service
from app.services.tasks import TaskView

Document = dict[str, Any]
Run = Callable[[Session, Caller, Arguments], Document]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    scopes: tuple[str, ...]
    writes: bool
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    run: Run
    annotations: ToolAnnotations

    def tool(self) -> Tool:
        return Tool(
            name=self.name,
            description=self.description,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            annotations=self.annotations,
        )


def _public(view: TaskView) -> Document:
    return TaskPublic.from_task(view.task, view.tags).model_dump(mode="json")


# --- the tools ------------------------------------------------------------------------------


def add_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    task_in = TaskCreate.model_validate(arguments)
    view = task_service.create_task(
        session=session,
        user_id=caller.id,
        task_in=task_in,
        list_id=task_in.list_id,
        parent_id=task_in.parent_id,
    )
    return _public(view)


def list_tasks(session: Session, caller: Caller, arguments: Arguments) -> Document:
    query = args.parse_query(arguments, allowed=args.LIST_ARGUMENTS)
    return _page(session, caller, query)


def search_tasks(session: Session, caller: Caller, arguments: Arguments) -> Document:
    query = args.parse_query(
        arguments, allowed=args.SEARCH_ARGUMENTS, required=("q",), fixed={"sort": "relevance"}
    )
    return _page(session, caller, query)


def _page(session: Session, caller: Caller, query: TaskQuery) -> Document:
    views, next_cursor = task_service.list_tasks(
        session=session, user_id=caller.id, query=query, zone=caller.timezone
    )
    return {"items": [_public(view) for view in views], "next_cursor": next_cursor}


def get_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    ref = TaskRef.model_validate(arguments)
    view = task_service.get_task_view(
        session=session, user_id=caller.id, task_id=args.task_id_of(ref.task_id)
    )
    return _public(view)


def update_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = TaskUpdateArguments.model_validate(arguments)
    # The PATCH body without the id: only the fields sent change (`description: null`
    # clears it), exactly as TaskUpdate tells the service.
    sent = parsed.model_fields_set - {"task_id"}
    task_in = TaskUpdate.model_construct(
        _fields_set=sent, **{name: getattr(parsed, name) for name in TaskUpdate.model_fields}
    )
    view = task_service.update_task(
        session=session, user_id=caller.id, task_id=args.task_id_of(parsed.task_id), task_in=task_in
    )
    return _public(view)


def complete_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    ref = TaskRef.model_validate(arguments)
    # As POST /tasks/{id}/complete: a recurring task moves on to its next occurrence.
    view = completion_service.complete_task(
        session=session,
        user_id=caller.id,
        task_id=args.task_id_of(ref.task_id),
        zone=caller.timezone,
    )
    return _public(view)


def reopen_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    ref = TaskRef.model_validate(arguments)
    view = task_service.set_completed(
        session=session, user_id=caller.id, task_id=args.task_id_of(ref.task_id), completed=False
    )
    return _public(view)


def delete_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    ref = TaskRef.model_validate(arguments)
    task_id = args.task_id_of(ref.task_id)
    # As DELETE /tasks/{id}: to the trash, restorable for TRASH_RETENTION_DAYS.
    trash_service.trash_task(session=session, user_id=caller.id, task_id=task_id)
    return TaskDeleted(id=task_id, deleted=True).model_dump(mode="json")


def list_tags(session: Session, caller: Caller, arguments: Arguments) -> Document:
    args.no_arguments(arguments)
    tags = tag_service.list_tags(session=session, user_id=caller.id)
    return TagList(tags=[TagPublic(**tag._asdict()) for tag in tags]).model_dump(mode="json")


def task_stats(session: Session, caller: Caller, arguments: Arguments) -> Document:
    args.no_arguments(arguments)
    stats = stats_service.stats_document(session=session, user_id=caller.id, zone=caller.timezone)
    return stats.model_dump(mode="json")


_TASK_REF = args.input_schema(TaskRef)
_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_RETRY_SAFE_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="add_task",
            description="Create a task for the user: a title, and optionally a description, "
            "priority, due date or date-time, tags, a list, a parent task and a recurrence.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=args.input_schema(TaskCreate),
            output_schema=args.output_schema(TaskPublic),
            run=add_task,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, open_world_hint=False
            ),
        ),
        ToolSpec(
            name="list_tasks",
            description="List the user's tasks a page at a time, filtered (completed, "
            "priority, tag, due range, overdue, keywords) and sorted; newest first by default.",
            scopes=(TASKS_READ,),
            writes=False,
            input_schema=args.query_schema(args.LIST_ARGUMENTS),
            output_schema=args.output_schema(TaskPage),
            run=list_tasks,
            annotations=_READ,
        ),
        ToolSpec(
            name="search_tasks",
            description="Find the user's tasks whose title or description contain every "
            "keyword in q, most relevant first.",
            scopes=(TASKS_READ,),
            writes=False,
            input_schema=args.query_schema(args.SEARCH_ARGUMENTS, required=("q",)),
            output_schema=args.output_schema(TaskPage),
            run=search_tasks,
            annotations=_READ,
        ),
        ToolSpec(
            name="get_task",
            description="Get one of the user's tasks by its id.",
            scopes=(TASKS_READ,),
            writes=False,
            input_schema=_TASK_REF,
            output_schema=args.output_schema(TaskPublic),
            run=get_task,
            annotations=_READ,
        ),
        ToolSpec(
            name="update_task",
            description="Change some fields of a task (title, description, priority, due, "
            "tags, completed); fields not given stay, description null clears it.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=args.input_schema(TaskUpdateArguments),
            output_schema=args.output_schema(TaskPublic),
            run=update_task,
            annotations=_RETRY_SAFE_WRITE,
        ),
        ToolSpec(
            name="complete_task",
            description="Mark a task done (completing a done task changes nothing); a "
            "recurring task moves on to its next occurrence instead.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=_TASK_REF,
            output_schema=args.output_schema(TaskPublic),
            run=complete_task,
            annotations=_RETRY_SAFE_WRITE,
        ),
        ToolSpec(
            name="reopen_task",
            description="Mark a done task not done again.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=_TASK_REF,
            output_schema=args.output_schema(TaskPublic),
            run=reopen_task,
            annotations=_RETRY_SAFE_WRITE,
        ),
        ToolSpec(
            name="delete_task",
            description="Move a task (and its subtasks) to the trash, where it can be restored "
            "for 30 days.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=_TASK_REF,
            output_schema=args.output_schema(TaskDeleted),
            run=delete_task,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=True, idempotent_hint=False
            ),
        ),
        ToolSpec(
            name="list_tags",
            description="List the user's tags by name, each with its open and total task count.",
            scopes=(TAGS_READ,),
            writes=False,
            input_schema=args.NO_ARGUMENTS,
            output_schema=args.output_schema(TagList),
            run=list_tags,
            annotations=_READ,
        ),
        ToolSpec(
            name="task_stats",
            description="Count the user's tasks: open, completed, overdue, due today, by "
            "priority and by tag.",
            scopes=(TASKS_READ, TAGS_READ),
            writes=False,
            input_schema=args.NO_ARGUMENTS,
            output_schema=args.output_schema(TaskStats),
            run=task_stats,
            annotations=_READ,
        ),
        ToolSpec(
            name="move_task",
            description="Put a task right before or after one of its siblings, or last; "
            "optionally into another list or under another parent first.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=args.input_schema(MoveArguments),
            output_schema=args.output_schema(TaskPublic),
            run=move_task,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, open_world_hint=False
            ),
        ),
        ToolSpec(
            name="list_lists",
            description="List the user's lists (the Inbox first), each with its open and "
            "total task count; archived ones only with archived true.",
            scopes=(LISTS_READ,),
            writes=False,
            input_schema=args.input_schema(ListsArguments),
            output_schema=args.output_schema(ListList),
            run=list_lists,
            annotations=_READ,
        ),
        ToolSpec(
            name="add_list",
            description="Create a list for the user: a name unique among their lists, and "
            "optionally a color (#RRGGBB) and position.",
            scopes=(LISTS_WRITE,),
            writes=True,
            input_schema=args.input_schema(ListCreate),
            output_schema=args.output_schema(ListPublic),
            run=add_list,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, open_world_hint=False
            ),
        ),
        ToolSpec(
            name="add_reminder",
            description="Add a reminder to a task: at a moment (at), or a duration before its "
            "due (before, such as PT15M or P1D; time for all-day dues); at most 10 a task.",
            scopes=(TASKS_WRITE,),
            writes=True,
            input_schema=args.input_schema(ReminderArguments),
            output_schema=args.output_schema(ReminderPublic),
            run=add_reminder,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, open_world_hint=False
            ),
        ),
        ToolSpec(
            name="list_reminders",
            description="List a task's reminders with when each fires.",
            scopes=(TASKS_READ,),
            writes=False,
            input_schema=_TASK_REF,
            output_schema=args.output_schema(ReminderList),
            run=list_reminders,
            annotations=_READ,
        ),
        ToolSpec(
            name="upcoming_reminders",
            description="List the user's reminders that fire from now until a moment "
            "(default 24 hours ahead), soonest first.",
            scopes=(TASKS_READ,),
            writes=False,
            input_schema=args.input_schema(UpcomingArguments),
            output_schema=args.output_schema(UpcomingList),
            run=upcoming_reminders,
            annotations=_READ,
        ),
    )
}
