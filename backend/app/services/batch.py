"""A batch of task writes in one transaction: every operation through the same service
function as its single request, so the rules (and If-Match) are the same; the first that
fails rolls all of them back and names its index."""

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from sqlmodel import Session

from app import database
from app.core.errors import DomainError, InvalidBatchReference, PreconditionRequired
from app.core.etags import Expected
from app.schemas.batch import (
    BatchOperation,
    CompleteOperation,
    CreateOperation,
    DeleteOperation,
    MoveOperation,
    ReopenOperation,
    UpdateOperation,
)
from app.schemas.task import TaskMove
from app.services import tasks as task_service
from app.services.tasks import TaskView


@dataclass(frozen=True, slots=True)
class OperationOutcome:
    index: int
    op: str
    id: uuid.UUID
    status: int
    view: TaskView | None  # None once deleted


class BatchOutcome(NamedTuple):
    temp_ids: dict[str, uuid.UUID]
    results: list[OperationOutcome]


def _expected(if_match: int | None) -> Expected:
    return None if if_match is None else (if_match,)


def _task_id(reference: str, temp_ids: dict[str, uuid.UUID], index: int) -> uuid.UUID:
    """A temp_id declared earlier in the batch, else a task id."""
    if reference in temp_ids:
        return temp_ids[reference]
    try:
        return uuid.UUID(reference)
    except ValueError:
        raise InvalidBatchReference(index, "id", "not a task id nor an earlier temp_id") from None


def run_batch(
    *,
    session: Session,
    user_id: uuid.UUID,
    operations: list[BatchOperation],
    require_if_match: bool = False,
) -> BatchOutcome:
    """Apply the operations in order, in one transaction (all or nothing)."""
    temp_ids: dict[str, uuid.UUID] = {}
    results: list[OperationOutcome] = []
    with database.one_transaction(session):
        for index, operation in enumerate(operations):
            try:
                results.append(
                    _apply(session, user_id, index, operation, temp_ids, require_if_match)
                )
            except DomainError as exc:
                # The single request's own problem, saying which operation it was.
                exc.members["index"] = index
                exc.detail = f"Operation {index}: {exc.detail}"
                raise
    return BatchOutcome(temp_ids, results)


def _apply(
    session: Session,
    user_id: uuid.UUID,
    index: int,
    operation: BatchOperation,
    temp_ids: dict[str, uuid.UUID],
    require_if_match: bool,
) -> OperationOutcome:
    if isinstance(operation, CreateOperation):
        if operation.temp_id is not None and operation.temp_id in temp_ids:
            raise InvalidBatchReference(index, "temp_id", "already used in this batch")
        view = task_service.create_task(session=session, user_id=user_id, task_in=operation.task)
        if operation.temp_id is not None:
            temp_ids[operation.temp_id] = view.task.id
        return OperationOutcome(index, operation.op, view.task.id, 201, view)
    task_id = _task_id(operation.id, temp_ids, index)
    if operation.if_match is None and require_if_match:
        raise PreconditionRequired("This server requires `if_match` on every operation but create.")
    expected = _expected(operation.if_match)
    if isinstance(operation, UpdateOperation):
        view = task_service.update_task(
            session=session,
            user_id=user_id,
            task_id=task_id,
            task_in=operation.changes,
            expected=expected,
        )
        return OperationOutcome(index, operation.op, task_id, 200, view)
    if isinstance(operation, CompleteOperation | ReopenOperation):
        view = task_service.set_completed(
            session=session,
            user_id=user_id,
            task_id=task_id,
            completed=isinstance(operation, CompleteOperation),
            expected=expected,
        )
        return OperationOutcome(index, operation.op, task_id, 200, view)
    if isinstance(operation, DeleteOperation):
        task_service.delete_task(
            session=session, user_id=user_id, task_id=task_id, expected=expected
        )
        return OperationOutcome(index, operation.op, task_id, 204, None)
    if isinstance(operation, MoveOperation):
        view = task_service.move_task(
            session=session,
            user_id=user_id,
            task_id=task_id,
            move=_move(operation, temp_ids, index),
            expected=expected,
        )
        return OperationOutcome(index, operation.op, task_id, 200, view)
    raise AssertionError(f"unknown operation {operation!r}")  # pragma: no cover


def _move(operation: MoveOperation, temp_ids: dict[str, uuid.UUID], index: int) -> TaskMove:
    """The move's body, with temp_ids resolved; `parent_id` stays unset unless it was sent."""
    fields: dict[str, object] = {"list_id": operation.list_id}
    for name in ("parent_id", "before", "after"):
        reference = getattr(operation, name)
        if reference is not None:
            fields[name] = _task_id(reference, temp_ids, index)
        elif name in operation.model_fields_set:
            fields[name] = None
    return TaskMove.model_validate(fields)
