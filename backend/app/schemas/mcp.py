"""Arguments and results of the MCP tools that the REST schemas do not already give.

The tools take the REST request models themselves (TaskCreate, TaskUpdate, TaskQuery), so
both protocols accept exactly the same values; these add the task id the REST API carries in
its path, and object roots for results that REST sends as a bare list or an empty 204.
"""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import StrictInput
from app.schemas.reminder import Before, ReminderPublic, TimeOfDay, UpcomingReminder
from app.schemas.tag import TagPublic
from app.schemas.task import TaskMove, TaskUpdate
from app.schemas.task_list import ListPublic
from app.schemas.values import Moment

TASK_ID_HELP = "The task's `id`, as add_task or list_tasks return it."


class TaskRef(StrictInput):
    task_id: str = Field(min_length=1, max_length=100, description=TASK_ID_HELP)


class TaskUpdateArguments(TaskUpdate):
    """update_task: the task's id and the fields to change (the PATCH body's rules)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                    "title": "Send the final invoice",
                }
            ]
        }
    )

    task_id: str = Field(min_length=1, max_length=100, description=TASK_ID_HELP)


class MoveArguments(TaskMove):
    """move_task: the task's id and where it goes (the move body's rules)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                    "before": "0b6f3c1e-2f4a-4e8b-9d7c-5a1e2b3c4d5e",
                }
            ]
        }
    )

    task_id: str = Field(min_length=1, max_length=100, description=TASK_ID_HELP)


class ListList(BaseModel):
    lists: list[ListPublic] = Field(
        description="Every list (archived ones only if asked), by position, with task counts."
    )


class ListsArguments(StrictInput):
    archived: bool = Field(default=False, description="true: include archived lists.")


class ReminderArguments(StrictInput):
    """add_reminder: the task, and either `at` or `before` (with `time` for all-day dues)."""

    task_id: str = Field(min_length=1, max_length=100, description=TASK_ID_HELP)
    at: Moment | None = Field(default=None, description="When to remind, with a UTC offset.")
    before: Before | None = Field(
        default=None, description="An ISO 8601 duration before the due: PT15M, P1D, P1DT12H."
    )
    time: TimeOfDay | None = Field(
        default=None, description="For an all-day due: the time of day it counts back from."
    )


class ReminderList(BaseModel):
    reminders: list[ReminderPublic] = Field(description="The task's reminders, oldest first.")


class UpcomingArguments(StrictInput):
    until: Moment | None = Field(
        default=None, description="Up to this moment, with a UTC offset (default: 24 h ahead)."
    )


class UpcomingList(BaseModel):
    reminders: list[UpcomingReminder] = Field(description="Soonest first.")


class TagList(BaseModel):
    tags: list[TagPublic] = Field(description="Every tag, by name, with its task counts.")


class TaskDeleted(BaseModel):
    id: uuid.UUID
    deleted: bool = Field(description="Always true: the task is gone.")
