"""What a parsed file asks for, before validation: the same shape whatever the format.

Each reader (read_json, read_csv, read_todoist, read_ics) turns bytes into an ImportPlan; the
import service validates it with the API's own schemas and writes it. Readers never raise for
bad input: they note a problem (line, field, reason) and go on, so one pass finds them all.
A file that cannot be read at all (not UTF-8, not CSV) is one problem and no tasks.
"""

from dataclasses import dataclass, field
from typing import Any

from app.schemas.porting import problem

# A line longer than this is refused before any parser sees it (10,000-character
# descriptions fit, with room for the rest of a row).
MAX_LINE_CHARS = 65_536


@dataclass
class PlannedList:
    key: str  # what the file's tasks call it
    name: str
    line: int | None = None
    values: dict[str, Any] = field(default_factory=dict)  # color, position, archived
    inbox: bool = False


@dataclass
class PlannedTask:
    line: int | None
    label: str  # where it is in the file, for problems: "tasks[3]" or "" (the line says it)
    external_id: str
    ref: str  # what other tasks of the file call it (their parent_ref)
    values: dict[str, Any]  # the fields of TaskCreate but list and parent
    parent_ref: str | None = None
    list_key: str | None = None  # None: the default list
    reminders: list[dict[str, Any]] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)  # ImportedTaskExtras


@dataclass
class ImportPlan:
    source: str
    lists: list[PlannedList] = field(default_factory=list)
    tasks: list[PlannedTask] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, line: int | None, name: str, reason: str) -> None:
        self.problems.append(problem(line, name, reason))

    def warn(self, line: int | None, name: str, reason: str) -> None:
        self.warnings.append(problem(line, name, reason))


def decode(data: bytes, plan: ImportPlan) -> str | None:
    """The file as text: UTF-8 (a byte order mark is dropped), no NUL, no overlong line;
    else None with the problem noted, naming its line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        plan.problem(
            line, "file", f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        )
        return None
    nul = text.find("\x00")
    if nul >= 0:
        plan.problem(text.count("\n", 0, nul) + 1, "file", "contains a NUL character")
        return None
    start = 0
    number = 1
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            plan.problem(number, "file", f"line longer than {MAX_LINE_CHARS} characters")
            return None
        start = end + 1
        number += 1
    return text
