"""Table models. Importing this package registers every table on SQLModel.metadata."""

from app.models.base import UTCDateTime
from app.models.calendar_feed import CalendarFeed
from app.models.change import Change, EventTicket
from app.models.idempotency import IdempotencyKey
from app.models.import_record import ImportRecord
from app.models.personal_token import PersonalToken
from app.models.reminder import Reminder, TaskCompletion
from app.models.tag import Tag, TaskTag
from app.models.task import Task
from app.models.task_list import TaskList
from app.models.token import RefreshToken
from app.models.user import User
from app.models.webhook import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "CalendarFeed",
    "Change",
    "EventTicket",
    "IdempotencyKey",
    "ImportRecord",
    "PersonalToken",
    "RefreshToken",
    "Reminder",
    "Tag",
    "Task",
    "TaskCompletion",
    "TaskList",
    "TaskTag",
    "UTCDateTime",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
