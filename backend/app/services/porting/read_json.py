"""Our own export (specs/2-backend-api/contracts/export-v1.schema.json) as an ImportPlan."""

from typing import Any

import orjson

from app.services.porting.export import FORMAT_NAME, FORMAT_VERSION
from app.services.porting.plan import ImportPlan, PlannedList, PlannedTask, decode

SOURCE = "json"
# orjson refuses deeper documents by itself (1024 levels); ours nest four.
MAX_DEPTH = 16
_TASK_FIELDS = ("title", "description", "completed", "priority", "due", "tags")
_EXTRA_FIELDS = (
    "completed_at",
    "created_at",
    "updated_at",
    "recurrence_done",
    "recurrence_time",
    "position",
)


def _too_deep(text: str) -> int | None:
    """The line where the nesting first goes past MAX_DEPTH (strings skipped), or None."""
    depth = 0
    line = 1
    in_string = escaped = False
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth -= 1
    return None


def _items(plan: ImportPlan, document: dict[str, Any], name: str) -> list[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        plan.problem(None, name, "must be an array")
        return []
    return value


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read(data: bytes) -> ImportPlan:
    plan = ImportPlan(SOURCE)
    text = decode(data, plan)
    if text is None:
        return plan
    deep = _too_deep(text)
    if deep is not None:
        plan.problem(deep, "file", f"nested more than {MAX_DEPTH} levels deep")
        return plan
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        plan.problem(exc.lineno, "file", f"not JSON: {exc.msg}")
        return plan
    if not isinstance(document, dict):
        plan.problem(1, "file", "not an export document (an object is expected)")
        return plan
    if document.get("format") != FORMAT_NAME or document.get("version") != FORMAT_VERSION:
        plan.problem(
            None,
            "version",
            f'not a "{FORMAT_NAME}" version {FORMAT_VERSION} export (format, version)',
        )
        return plan
    profile = document.get("profile")
    if isinstance(profile, dict):
        plan.profile = {key: profile[key] for key in ("name", "timezone") if key in profile}
    for index, item in enumerate(_items(plan, document, "lists")):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            plan.problem(None, f"lists[{index}]", "a list needs an `id` string")
            continue
        plan.lists.append(
            PlannedList(
                key=item["id"],
                name=str(item.get("name") or ""),
                values={k: item[k] for k in ("color", "position", "archived") if k in item},
                inbox=item.get("inbox") is True,
            )
        )
    plan.tags = [tag for tag in _items(plan, document, "tags") if isinstance(tag, str)]
    for index, item in enumerate(_items(plan, document, "tasks")):
        label = f"tasks[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            plan.problem(None, label, "a task needs an `id` string")
            continue
        values = {key: item[key] for key in _TASK_FIELDS if key in item}
        for key in ("recurrence", "recurrence_basis"):
            if item.get(key) is not None:
                values[key] = item[key]
        reminders = item.get("reminders", [])
        completions = item.get("completions", [])
        plan.tasks.append(
            PlannedTask(
                line=None,
                label=label,
                external_id=item["id"],
                ref=item["id"],
                values=values,
                parent_ref=_string_or_none(item.get("parent_id")),
                list_key=_string_or_none(item.get("list_id")),
                reminders=[
                    {k: v for k, v in r.items() if v is not None} if isinstance(r, dict) else r
                    for r in (reminders if isinstance(reminders, list) else [reminders])
                ],
                completions=completions if isinstance(completions, list) else [completions],
                extras={key: item[key] for key in _EXTRA_FIELDS if item.get(key) is not None},
            )
        )
    return plan
