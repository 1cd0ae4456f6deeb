"""Our CSV (render.CSV_COLUMNS; any subset, `title` required) as an ImportPlan.

Columns are found by header name, in any order; unknown columns are ignored with a warning.
`list` is a list name (created if missing), `parent_id` the `id` of another row of the file,
`tags` comma-separated, `reminders` as the export writes them. A cell that the export
prefixed with `'` (formula defence) loses the apostrophe again.
"""

import csv
import hashlib
from collections.abc import Iterator

from app.services.porting.plan import ImportPlan, PlannedTask, decode
from app.services.porting.render import CSV_COLUMNS, FORMULA_STARTS

SOURCE = "csv"
_TRUE = {"true", "yes", "1", "x", "done"}
_FALSE = {"false", "no", "0", ""}


def rows(text: str, plan: ImportPlan) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-empty row; a malformed file ends it with a problem."""
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            plan.problem(reader.line_num or start, "file", f"malformed CSV: {exc}")
            return
        if any(cell.strip() for cell in cells):
            yield start, cells


def unformula(cell: str) -> str:
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _reminders(cell: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for token in cell.split():
        if token[:1].isdigit():
            found.append({"at": token})
        elif "@" in token:
            before, _, at_time = token.partition("@")
            found.append({"before": before, "time": at_time})
        else:
            found.append({"before": token})
    return found


def read(data: bytes) -> ImportPlan:
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
    names = [cell.strip().lower() for cell in header[1]]
    if "title" not in names:
        plan.problem(header[0], "title", "the header row has no `title` column")
        return plan
    for name in names:
        if name not in CSV_COLUMNS:
            plan.warn(header[0], name, "unknown column, ignored")
    seen: dict[str, int] = {}
    for line, cells in records:
        if len(cells) > len(names):
            plan.problem(line, "file", f"{len(cells)} cells where the header has {len(names)}")
            continue
        row = {name: unformula(cell) for name, cell in zip(names, cells, strict=False)}
        ref = row.get("id", "").strip() or f"line {line}"
        external = row.get("id", "").strip() or digest(*cells)
        seen[external] = seen.get(external, 0) + 1
        if seen[external] > 1:
            external = f"{external}#{seen[external]}"  # the same row twice: two tasks
        values: dict[str, object] = {"title": row.get("title", "")}
        if row.get("description"):
            values["description"] = row["description"]
        completed = row.get("completed", "").strip().lower()
        if completed in _TRUE:
            values["completed"] = True
        elif completed not in _FALSE:
            plan.problem(line, "completed", "must be true or false")
        for name in ("priority", "due", "recurrence", "recurrence_basis"):
            if row.get(name, "").strip():
                values[name] = row[name].strip()
        if row.get("tags", "").strip():
            values["tags"] = [tag.strip() for tag in row["tags"].split(",") if tag.strip()]
        extras = {
            name: row[name].strip()
            for name in ("completed_at", "created_at", "updated_at")
            if row.get(name, "").strip()
        }
        plan.tasks.append(
            PlannedTask(
                line=line,
                label="",
                external_id=external,
                ref=ref,
                values=values,
                parent_ref=row.get("parent_id", "").strip() or None,
                list_key=row.get("list", "").strip() or None,
                reminders=_reminders(row.get("reminders", "")),
                extras=extras,
            )
        )
    return plan
