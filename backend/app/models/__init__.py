"""Table models. Importing this package registers every table on SQLModel.metadata."""

from app.models.base import UTCDateTime
from app.models.personal_token import PersonalToken
from app.models.tag import Tag, TaskTag
from app.models.task import Task
from app.models.token import RefreshToken
from app.models.user import User

__all__ = [
    "PersonalToken",
    "RefreshToken",
    "Tag",
    "Task",
    "TaskTag",
    "UTCDateTime",
    "User",
]
