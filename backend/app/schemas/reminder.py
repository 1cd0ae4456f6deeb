"""Reminder bodies: absolute (`at`) or relative to the task's due (`before`)."""

import uuid
from datetime import datetime, time
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.reminder_times import parse_before
from app.schemas.common import Pattern, StrictInput
from app.schemas.values import Moment

_T_PART = (
    r"T(?:[0-9]{1,4}H(?:[0-9]{1,6}M)?(?:[0-9]{1,8}S)?|[0-9]{1,6}M(?:[0-9]{1,8}S)?|[0-9]{1,8}S)"
)
# ISO 8601 durations of weeks, days, hours, minutes and seconds (no years or months), in
# upper case: exactly what app.core.reminder_times reads, at most 366 days (checked after).
BEFORE_PATTERN = (
    rf"^P(?:[0-9]{{1,3}}W(?:[0-9]{{1,3}}D)?(?:{_T_PART})?|[0-9]{{1,3}}D(?:{_T_PART})?|{_T_PART})$"
)
TIME_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$"


def _canonical_before(text: str) -> str:
    # ReminderTimeError is a ValueError: a 422 on `before` (over 366 days, say).
    return str(parse_before(text))


Before = Annotated[
    str,
    Pattern(BEFORE_PATTERN, "must be an ISO 8601 duration such as PT15M, P1D or P1DT2H"),
    AfterValidator(_canonical_before),
]
# Read with datetime.time.fromisoformat where it is used.
TimeOfDay = Annotated[str, Pattern(TIME_PATTERN, "must be a time of day HH:MM or HH:MM:SS")]


class AbsoluteReminder(StrictInput):
    """A reminder at a moment."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"at": "2026-12-01T08:30:00+01:00"}]})

    at: Moment = Field(description="When to remind you, with a UTC offset.")


class RelativeReminder(StrictInput):
    """A reminder some time before the task's due; it follows the due when that moves."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"before": "PT15M"}, {"before": "P1D", "time": "18:00"}]}
    )

    before: Before = Field(
        description="An ISO 8601 duration before the due: `PT15M`, `P1D`, `P1DT12H` (weeks, "
        "days, hours, minutes, seconds; at most 366 days). Days and weeks are calendar days "
        "in your time zone, hours exact."
    )
    time: TimeOfDay | None = Field(
        default=None,
        description="For an all-day due: the time of day in your time zone the duration "
        "counts back from (default 09:00). Kept, but unused, while the due has a time.",
    )


ReminderIn = AbsoluteReminder | RelativeReminder


class ReminderFields(NamedTuple):
    """A reminder's request as the service takes it."""

    at: datetime | None
    before: str | None
    at_time: time | None


def reminder_fields(reminder_in: ReminderIn) -> ReminderFields:
    if isinstance(reminder_in, AbsoluteReminder):
        return ReminderFields(reminder_in.at, None, None)
    at_time = time.fromisoformat(reminder_in.time) if reminder_in.time is not None else None
    return ReminderFields(None, reminder_in.before, at_time)


def shown_reminder(values: dict[str, Any]) -> dict[str, Any]:
    """A reminder row's values as the API shows them: the time of day as `HH:MM:SS`, without
    offset (JSON Schema's `time` format needs one)."""
    at_time = values.get("time")
    return {**values, "time": at_time.strftime("%H:%M:%S") if at_time is not None else None}


class ReminderPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c1c9e-5d43-4b4e-9a43-2b0f3c8b2a10",
                    "task_id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                    "at": None,
                    "before": "PT15M",
                    "time": None,
                    "fire_at": "2026-12-01T16:45:00Z",
                    "fired_at": None,
                    "missed": False,
                    "created_at": "2026-11-24T09:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    task_id: uuid.UUID
    at: datetime | None = Field(description="An absolute reminder's moment, in UTC.")
    before: str | None = Field(description="A relative reminder's duration, canonical.")
    time: TimeOfDay | None = Field(
        description="A relative reminder's local time of day for all-day dues, `HH:MM:SS`."
    )
    fire_at: datetime | None = Field(
        description="When it fires next; null while a relative reminder's task has no due."
    )
    fired_at: datetime | None = Field(
        description="When it fired (or was found too late, see `missed`); null until then."
    )
    missed: bool = Field(
        description="The server was down when it was due and came back more than "
        "REMINDER_GRACE_MINUTES later: it was not sent."
    )
    created_at: datetime


class UpcomingReminder(ReminderPublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c1c9e-5d43-4b4e-9a43-2b0f3c8b2a10",
                    "task_id": "7d0c6f0e-8f1e-4a57-9a55-1f5b2f4d8c11",
                    "task_title": "Pay the rent",
                    "at": None,
                    "before": "P1D",
                    "time": "18:00:00",
                    "fire_at": "2026-11-30T17:00:00Z",
                    "fired_at": None,
                    "missed": False,
                    "created_at": "2026-11-24T09:30:00Z",
                }
            ]
        }
    )

    task_title: str


class UpcomingReminders(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": []}]})

    items: list[UpcomingReminder] = Field(description="Soonest first.")
