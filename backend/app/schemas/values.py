"""Value types for the organising fields: priority, due, tag names, moments, time zones."""

import re
import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

from app.schemas.common import NOT_BLANK_NO_NUL


class Priority(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def level(self) -> int:
        """The stored number: sorting by it orders none < low < medium < high."""
        return _LEVELS[self]

    @classmethod
    def from_level(cls, level: int) -> "Priority":
        return _BY_LEVEL[level]


_LEVELS = {Priority.none: 0, Priority.low: 1, Priority.medium: 2, Priority.high: 3}
_BY_LEVEL = {level: priority for priority, level in _LEVELS.items()}

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DUE_HELP = "an all-day date `YYYY-MM-DD`, or an ISO 8601 date-time with a UTC offset"


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a date-time needs a UTC offset (for example +01:00 or Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date-time out of range") from exc


def parse_due(value: Any) -> date | datetime:
    """A date stays a date; a date-time must carry an offset and is returned in UTC."""
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be {_DUE_HELP}")
    text = value.strip()
    try:
        if _DATE_ONLY.fullmatch(text):
            return date.fromisoformat(text)
        if "T" not in text and "t" not in text:
            raise ValueError
        return _to_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        if "offset" in str(exc) or "range" in str(exc):
            raise
        raise ValueError(f"must be {_DUE_HELP}") from exc


def parse_moment(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError("must be an ISO 8601 date-time with a UTC offset") from exc
    if not isinstance(value, datetime):
        raise ValueError("must be an ISO 8601 date-time with a UTC offset")
    return _to_utc(value)


DUE_EXAMPLES = ["2026-12-01", "2026-12-01T17:00:00+01:00"]

Due = Annotated[
    date | datetime,
    PlainValidator(parse_due),
    # A union under a plain validator confuses pydantic's serializer; say it outright.
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    # RFC 3339 `date-time` always carries an offset, so the formats say exactly what parses.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": f"Either {_DUE_HELP}. Date-times come back in UTC.",
            "examples": DUE_EXAMPLES,
        },
        mode="validation",
    ),
]

Moment = Annotated[
    datetime,
    PlainValidator(parse_moment),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 date-time with a UTC offset.",
            "examples": ["2026-11-24T09:30:00Z"],
        },
        mode="validation",
    ),
]


def tag_key(name: str) -> str:
    """The case-insensitive identity of a tag name."""
    return unicodedata.normalize("NFC", name).casefold()


def _normalize_tag(name: str) -> str:
    return unicodedata.normalize("NFC", name)


TagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    NOT_BLANK_NO_NUL,
    AfterValidator(_normalize_tag),
]


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_zone(value: str) -> str:
    if value not in _known_zones():
        raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin")
    return value


TimeZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_check_zone),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 64,
            "description": "An IANA time zone name.",
            "examples": ["Europe/Berlin", "UTC"],
        },
        mode="validation",
    ),
]
