"""MCP tools for lists and the manual order (issue 16): as GET and POST /api/v1/lists and
POST /api/v1/tasks/{id}/move, through the same services."""

from sqlmodel import Session

from app.core.callers import Caller
from app.mcp import arguments as args
from app.mcp.arguments import Arguments
from app.schemas.mcp import ListList, ListsArguments, MoveArguments
from app.schemas.task import TaskMove, TaskPublic
from app.schemas.task_list import ListCreate, ListPublic
from app.services import lists as list_service
from app.services import tasks as task_service

Document = dict[str, object]


def list_lists(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = ListsArguments.model_validate(arguments)
    lists = list_service.list_lists(session=session, user_id=caller.id, archived=parsed.archived)
    found = [ListPublic(**task_list._asdict()) for task_list in lists]
    return ListList(lists=found).model_dump(mode="json")


def add_list(session: Session, caller: Caller, arguments: Arguments) -> Document:
    list_in = ListCreate.model_validate(arguments)
    task_list = list_service.create_list(session=session, user_id=caller.id, list_in=list_in)
    return ListPublic(**task_list._asdict()).model_dump(mode="json")


def move_task(session: Session, caller: Caller, arguments: Arguments) -> Document:
    parsed = MoveArguments.model_validate(arguments)
    # The move body without the id; `parent_id` counts as sent only if it was.
    sent = parsed.model_fields_set - {"task_id"}
    move = TaskMove.model_construct(
        _fields_set=sent, **{name: getattr(parsed, name) for name in TaskMove.model_fields}
    )
    view = task_service.move_task(
        session=session, user_id=caller.id, task_id=args.task_id_of(parsed.task_id), move=move
    )
    return TaskPublic.from_task(*view).model_dump(mode="json")
