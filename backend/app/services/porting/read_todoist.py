"""Todoist's CSV project template ("Export as template" in Todoist) as an ImportPlan.

Columns TYPE, CONTENT, DESCRIPTION, PRIORITY, INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG,
TIMEZONE, DURATION, DURATION_UNIT, DEADLINE, DEADLINE_LANG (only TYPE and CONTENT required).
- TYPE `task`: a task; `section`: the tasks after it go to a list of that name; `note`: a
  comment, appended to the description of the task above.
- PRIORITY: Todoist's template counts from the top, 1 (p1, red) the highest and 4 (p4) no
  priority: 1 -> high, 2 -> medium, 3 -> low, 4 -> none. (Todoist's REST API counts the other
  way, 4 = p1; its CSV does not.) An empty cell is none (Todoist reads it as p1).
- INDENT 1 is a top-level task, 2 its subtask, and so on up to 4 (our limit too).
- `@label` words in CONTENT become tags and leave the title.
- DATE: `YYYY-MM-DD` (all day) or `YYYY-MM-DD HH:MM` in TIMEZONE (else your zone); Todoist's
  natural language ("every monday") is not read: a warning, and the task has no due. DEADLINE
  is the due when DATE is empty.
- AUTHOR, RESPONSIBLE, DURATION, DATE_LANG: no equivalent here; ignored.
There are no ids in the file: a task is known again by a digest of its section, its parents'
titles and its own cells, so importing the same file twice creates nothing new.
"""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.services.porting.plan import ImportPlan, PlannedTask, decode
from app.services.porting.read_csv import digest, rows

SOURCE = "todoist"
MAX_INDENT = 4
PRIORITIES = {"1": "high", "2": "medium", "3": "low", "4": "none", "": "none"}
_LABEL = re.compile(r"(?<!\S)@([^\s@]{1,50})")
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(?::\d{2})?)?$")


def _due(text: str, zone: str, line: int, plan: ImportPlan, column: str) -> str | None:
    match = _DATE_TIME.match(text.strip())
    if match is None:
        plan.warn(line, column, f"not a date this import reads: {text.strip()[:80]!r}; no due")
        return None
    try:
        day = date.fromisoformat(match[1])
        if match[2] is None:
            return day.isoformat()
        naive = datetime.fromisoformat(f"{match[1]}T{match[2]}")
        return naive.replace(tzinfo=ZoneInfo(zone)).isoformat()
    except (ValueError, ZoneInfoNotFoundError):
        plan.warn(line, column, f"not a valid date or zone: {text.strip()[:80]!r}; no due")
        return None


def read(data: bytes, *, timezone: str = "UTC") -> ImportPlan:
    plan = ImportPlan(SOURCE)
    text = decode(data, plan)
    if text is None:
        return plan
    records = rows(text, plan)
    header = next(records, None)
    if header is None:
        if not plan.problems:
            plan.problem(1, "file", "empty: a header row is expected")
        return plan
    names = [cell.strip().upper() for cell in header[1]]
    for required in ("TYPE", "CONTENT"):
        if required not in names:
            plan.problem(header[0], required, "missing column: not a Todoist template CSV")
    if plan.problems:
        return plan
    section: str | None = None
    # The tasks open at each indent level above the current row: their refs and titles.
    stack: list[tuple[str, str]] = []
    last: PlannedTask | None = None
    seen: dict[str, int] = {}
    for line, cells in records:
        row = dict(zip(names, cells, strict=False))
        kind = row.get("TYPE", "").strip()
        content = row.get("CONTENT", "")
        if kind == "section":
            section = content.strip() or None
            stack, last = [], None
            continue
        if kind == "note":
            if last is None:
                plan.problem(line, "TYPE", "a note must follow a task")
            else:
                described = last.values.get("description")
                last.values["description"] = f"{described}\n\n{content}" if described else content
            continue
        if kind != "task":
            plan.problem(line, "TYPE", f"must be task, section or note, not {kind[:40]!r}")
            continue
        indent_text = row.get("INDENT", "").strip() or "1"
        if not indent_text.isdigit() or not 1 <= int(indent_text) <= MAX_INDENT:
            plan.problem(line, "INDENT", f"must be 1 to {MAX_INDENT}")
            continue
        indent = int(indent_text)
        if indent > len(stack) + 1:
            plan.problem(line, "INDENT", "indented more than one level below the task above")
            continue
        del stack[indent - 1 :]
        tags = _LABEL.findall(content)
        title = " ".join(_LABEL.sub(" ", content).split()) if tags else content.strip()
        priority = row.get("PRIORITY", "").strip()
        values: dict[str, object] = {"title": title, "tags": tags}
        if priority not in PRIORITIES:
            plan.problem(line, "PRIORITY", "must be 1 (highest) to 4 (none)")
        else:
            values["priority"] = PRIORITIES[priority]
        if row.get("DESCRIPTION", "").strip():
            values["description"] = row["DESCRIPTION"]
        zone = row.get("TIMEZONE", "").strip() or timezone
        for column in ("DATE", "DEADLINE"):
            if row.get(column, "").strip():
                due = _due(row[column], zone, line, plan, column)
                if due is not None:
                    values["due"] = due
                    break
        place = [section or "", *(title for _, title in stack)]
        external = digest(*place, *cells)
        seen[external] = seen.get(external, 0) + 1
        if seen[external] > 1:
            external = f"{external}#{seen[external]}"
        ref = f"line {line}"
        last = PlannedTask(
            line=line,
            label="",
            external_id=external,
            ref=ref,
            values=values,
            parent_ref=stack[-1][0] if stack else None,
            list_key=section,
        )
        plan.tasks.append(last)
        stack.append((ref, title))
    return plan
