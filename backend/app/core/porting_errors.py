"""Problems of export and import (issue 20). Kept beside core.errors, rendered by its handler."""

from typing import Any

from app.core.errors import DomainError


class ImportInvalid(DomainError):
    """The file cannot be imported: every problem found, each with its line (or row), field
    and reason. Nothing was written."""

    status = 422
    type_ = "/problems/import-invalid"
    title = "Import refused"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        count = len(problems)
        super().__init__(
            f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported."
        )
        # Shaped like every other 422's `errors` (loc, msg, type), with the line, field and
        # reason of the file's problem beside them.
        self.members["errors"] = [
            {
                "loc": [
                    "file",
                    *([item["line"]] if item["line"] is not None else []),
                    item["field"],
                ],
                "msg": item["reason"],
                "type": "import_error",
                **item,
            }
            for item in problems
        ]
