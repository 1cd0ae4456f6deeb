"""Manual order: fractional-index keys (the `fractional-indexing` package).

A task's `position` is a string key; tasks of one sibling group (same list, same parent) sort
by it in byte order, ties broken by id. Moving a task between two others gives it a key that
sorts between theirs, so a move rewrites one row and never its siblings. Keys are base-62
strings: an integer part whose first letter says its length, then an optional fraction.

A new task goes to the end of its group without reading the group: its key is its creation
time in microseconds as the integer part (so later tasks sort after earlier ones), plus a
fraction taken from its id (so two tasks created in the same microsecond still differ).
"""

import uuid
from datetime import UTC, datetime, timedelta

from fractional_indexing import (
    BASE_62_DIGITS,
    FIError,
    generate_key_between,
    generate_n_keys_between,
    validate_order_key,
)

# Integer parts of 9 digits start with "i" (the library's scheme: "a" + n - 2 for n
# characters). 62**9 microseconds reach past the year 2400.
_TIME_HEAD = "i"
_TIME_DIGITS = 9
_SUFFIX_DIGITS = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OrderError(ValueError):
    """Two keys that no key fits between (equal, or in the wrong order)."""


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(str(BASE_62_DIGITS[digit]))
    return "".join(reversed(digits))


def creation_key(task_id: uuid.UUID, created_at: datetime) -> str:
    """The key of a task placed at the end of its group at `created_at`."""
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    digits: str = BASE_62_DIGITS
    suffix = _base62(task_id.int, _SUFFIX_DIGITS - 1) + digits[1 + task_id.int % 61]
    # A fraction never ends in "0" (the library refuses such keys).
    return _TIME_HEAD + _base62(micros, _TIME_DIGITS) + suffix


def key_between(lower: str | None, upper: str | None) -> str:
    """A key after `lower` and before `upper` (None: no bound on that side)."""
    try:
        return str(generate_key_between(lower, upper))
    except FIError as exc:
        raise OrderError(str(exc)) from exc


def is_key(value: str) -> bool:
    """Whether `value` is a well-formed key (one a file may carry into an import)."""
    try:
        validate_order_key(value)
    except FIError:
        return False
    return True


def keys_between(lower: str | None, upper: str | None, count: int) -> list[str]:
    """`count` keys in ascending order, all after `lower` and before `upper`."""
    try:
        return [str(key) for key in generate_n_keys_between(lower, upper, count)]
    except FIError as exc:
        raise OrderError(str(exc)) from exc
