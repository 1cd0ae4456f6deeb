"""Value types for the organising fields: priority, due, tag names, moments, time zones."""

import re
import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib.resources import files
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

from app.schemas.common import JSON_STRING, NOT_BLANK_NO_NUL, at_most


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

# A priority in a request body, where it is its name: a JSON string.
PriorityName = Annotated[Priority, JSON_STRING]

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
    at_most(50),
]


def _tz_database() -> tuple[str, ...]:
    """Every zone name in the `tzdata` package, sorted.

    That package, a dependency, is the list rather than `zoneinfo.available_timezones()`, which
    adds whatever the machine's own zone directory holds (`localtime`, say): the contract, which
    lists the names, is then the same on every machine. `ZoneInfo` loads each of them, from the
    system directory or from the package.
    """
    return tuple(sorted(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()))


ZONE_NAMES = _tz_database()
_KNOWN_ZONES = frozenset(ZONE_NAMES)


def _constant_name(zone: str) -> str:
    """`Etc/GMT-1` -> `ETC_GMT_MINUS_1`: the identifier a generated client gives the zone.

    Published as `x-enum-varnames`, because generators' own spelling drops the sign and so
    gives `GMT+0`, `GMT-0` and `GMT0` one name (openapi-python-client then refuses the contract).
    """
    signed = re.sub(r"-(?=\d)", "_MINUS_", re.sub(r"\+(?=\d)", "_PLUS_", zone))
    return re.sub(r"[^A-Za-z0-9]+", "_", signed).strip("_").upper()


def _check_zone(value: str) -> str:
    if value not in _KNOWN_ZONES:
        raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin")
    return value


# Exactly the names of the list, untrimmed: what the contract's `enum` says.
TimeZoneName = Annotated[
    str,
    AfterValidator(_check_zone),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(ZONE_NAMES),
            "x-enum-varnames": [_constant_name(zone) for zone in ZONE_NAMES],
            "description": "An IANA time zone name (the tz database of the `tzdata` package).",
            "examples": ["Europe/Berlin", "UTC"],
        },
        mode="validation",
    ),
]
