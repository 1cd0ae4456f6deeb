"""Recurrence in request and response bodies: the rule, its basis, completions, previews."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.recurrence import MAX_RULE_LENGTH, MAX_UPCOMING, parse_rule
from app.schemas.common import JSON_STRING
from app.schemas.values import DUE_EXAMPLES


class RecurrenceBasis(StrEnum):
    """What the next due follows: `due` (the previous due: "every") or `completion` (the
    moment the task was completed: "every!")."""

    due = "due"
    completion = "completion"


RecurrenceBasisName = Annotated[RecurrenceBasis, JSON_STRING]

RECURRENCE_EXAMPLES = ["FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=DAILY;INTERVAL=3"]
RECURRENCE_HELP = (
    "An RFC 5545 RRULE (`FREQ=DAILY|WEEKLY|MONTHLY|YEARLY`, `INTERVAL`, `BYDAY`, `BYMONTHDAY`, "
    "`BYMONTH`, `BYSETPOS`, `COUNT` or `UNTIL`, `WKST`), stored and shown in canonical form; "
    "null for a task that does not recur. Needs a `due`. A refused rule is a 422 whose message "
    "names the part at fault."
)
BASIS_HELP = (
    "`due` (the default): the next due follows the previous one. `completion`: it follows the "
    "day the task was completed."
)


def _canonical_rule(text: str) -> str:
    # RecurrenceError is a ValueError: a 422 on `recurrence`, its message naming the part.
    return str(parse_rule(text))


Recurrence = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_RULE_LENGTH),
    AfterValidator(_canonical_rule),
]


class CompletionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"due": "2026-12-01", "completed_at": "2026-12-01T18:02:11Z"}]
        }
    )

    due: date | datetime = Field(
        description="The due of the occurrence completed: a date, or a UTC date-time.",
        examples=DUE_EXAMPLES,
    )
    completed_at: datetime


class CompletionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [{"due": "2026-12-01", "completed_at": "2026-12-01T18:02:11Z"}]}]
        }
    )

    items: list[CompletionPublic] = Field(description="Newest first.")


class OccurrenceList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": ["2026-12-01", "2027-01-01", "2027-02-01"]}]}
    )

    items: list[date | datetime] = Field(
        description="The current due, then the next ones, as completing each on its due would "
        "give them; empty for a task without a due or a closed series. At most `limit`."
    )


MAX_OCCURRENCES = MAX_UPCOMING
