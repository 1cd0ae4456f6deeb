"""Export the account (`GET /api/v1/export`) and import a file into it (`POST /api/v1/import`)."""

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.core.porting_errors import ImportInvalid
from app.dependencies import CurrentUser, SessionDep, end_transaction, require_scope
from app.models.base import utcnow
from app.routers.calendar import CALENDAR_CONTENT
from app.schemas.common import problem_responses
from app.schemas.porting import (
    BINARY,
    CSV_EXAMPLE,
    DOCUMENT_EXAMPLE,
    FILE_EXAMPLES,
    FILE_SCHEMAS,
    ImportReport,
    problem,
)
from app.services.porting import imports as import_service
from app.services.porting.render import RENDERERS

router = APIRouter(prefix="/api/v1", tags=["portability"], responses=problem_responses(503))

IMPORT_PATH = "/api/v1/import"


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    ics = "ics"


def _then_end(session: Session, chunks: Iterator[bytes]) -> Iterator[bytes]:
    # The handler has returned before the first page is read: the read transaction ends
    # here, once the last chunk is out (or the client went away).
    try:
        yield from chunks
    finally:
        end_transaction(session)


@router.get(
    "/export",
    summary="Export your account",
    dependencies=[require_scope("export:read")],
    responses={
        **problem_responses(401, 422, 429),
        200: {
            "description": "The export, as an attachment.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "specs/2-backend-api/contracts/export-v1.schema.json",
                    },
                    "example": DOCUMENT_EXAMPLE,
                },
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                **CALENDAR_CONTENT,
            },
        },
    },
    response_class=StreamingResponse,
)
async def export_account(
    session: SessionDep,
    current_user: CurrentUser,
    format: Annotated[
        ExportFormat,
        Query(
            description="`json`: the whole account, lossless; `csv`: one row per task; `ics`: "
            "iCalendar, a VTODO per task."
        ),
    ] = ExportFormat.json,
    bom: Annotated[
        bool, Query(description="CSV only: start with a UTF-8 byte order mark (for Excel).")
    ] = False,
) -> StreamingResponse:
    """Your profile settings, lists, tags and tasks (not those in the trash) with their
    subtasks, recurrence, reminders and completions: `json` is a versioned document
    (`"format": "tasks-api", "version": 1`) that `POST /api/v1/import?format=json` reads back;
    `csv` is one row per task for spreadsheets, cells that a spreadsheet would run as a
    formula prefixed with `'`; `ics` is iCalendar (RFC 5545), a VTODO per task, as the
    calendar feeds write them. Streamed as it is read, as a file to save."""
    rendered = RENDERERS[format.value](session, current_user.id, bom)
    filename = f"tasks-export-{utcnow():%Y-%m-%d}.{rendered.extension}"
    return StreamingResponse(
        _then_end(session, rendered.chunks),
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ImportFormat(StrEnum):
    json = "json"
    csv = "csv"
    ics = "ics"
    todoist = "todoist"


@router.post(
    "/import",
    summary="Import a file into your account",
    response_model=ImportReport,
    dependencies=[require_scope("import:write")],
    responses=problem_responses(401, 413, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself as the body (not a form), e.g. "
            "`curl --data-binary @tasks.csv`. The Content-Type is not read: `format` says "
            "what the file is.",
            "content": {
                media: {"schema": FILE_SCHEMAS.get(media, BINARY), "example": example}
                for media, example in FILE_EXAMPLES.items()
            },
        }
    },
)
async def import_file(
    request: Request,
    session: SessionDep,
    current_user: CurrentUser,
    format: Annotated[
        ImportFormat,
        Query(
            description="`json`: our export; `csv`: our CSV columns; `ics`: iCalendar VTODOs; "
            "`todoist`: Todoist's CSV template export."
        ),
    ],
    dry_run: Annotated[
        bool, Query(description="`true`: check and count only; nothing is written.")
    ] = False,
    list_name: Annotated[
        str | None,
        Query(
            alias="list",
            min_length=1,
            max_length=100,
            description="The list (by name; created if missing) for tasks the file puts in "
            "none. Default: your Inbox.",
        ),
    ] = None,
) -> ImportReport:
    """Create the file's lists, tasks (with subtasks, tags, recurrence, reminders and
    completions) in one transaction: all of it, or nothing and a 422 listing every problem
    with its line and field. A task an earlier import of the same source created is skipped,
    so importing a file twice creates nothing the second time. Files up to IMPORT_MAX_BYTES
    (413 beyond) and IMPORT_MAX_TASKS tasks. With `dry_run=true` nothing is written: the
    answer is the one the import would give, what it would create or the 422 with every
    problem."""
    data = await request.body()
    if not data:
        raise ImportInvalid([problem(None, "file", "no file: send it as the request body")])
    max_tasks = request.app.state.settings.import_max_tasks
    return await run_in_threadpool(
        import_service.run_import,
        session=session,
        user_id=current_user.id,
        format=format.value,
        data=data,
        dry_run=dry_run,
        max_tasks=max_tasks,
        default_list=list_name,
    )
