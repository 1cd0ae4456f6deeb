"""Export the account (`GET /api/v1/export`) and import a file into it (`POST /api/v1/import`)."""

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.core.porting_errors import ExportFormatUnavailable
from app.dependencies import CurrentUser, SessionDep, end_transaction, require_scope
from app.models.base import utcnow
from app.schemas.common import problem_responses
from app.services.porting.render import RENDERERS

router = APIRouter(prefix="/api/v1", tags=["export and import"], responses=problem_responses(503))


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
    dependencies=[require_scope("tasks:read")],
    responses={
        **problem_responses(401, 422, 429),
        200: {
            "description": "The export, as an attachment.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "specs/2-backend-api/contracts/export-v1.schema.json",
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
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
        Query(description="`json`: the whole account, lossless; `csv`: one row per task."),
    ] = ExportFormat.json,
    bom: Annotated[
        bool, Query(description="CSV only: start with a UTF-8 byte order mark (for Excel).")
    ] = False,
) -> StreamingResponse:
    """Your profile settings, lists, tags and tasks (not those in the trash) with their
    subtasks, recurrence, reminders and completions: `json` is a versioned document
    (`"format": "tasks-api", "version": 1`) that `POST /api/v1/import?format=json` reads back;
    `csv` is one row per task for spreadsheets, cells that a spreadsheet would run as a
    formula prefixed with `'`. Streamed as it is read, as a file to save."""
    renderer = RENDERERS.get(format.value)
    if renderer is None:
        raise ExportFormatUnavailable(format.value)
    rendered = renderer(session, current_user.id, bom)
    filename = f"tasks-export-{utcnow():%Y-%m-%d}.{rendered.extension}"
    return StreamingResponse(
        _then_end(session, rendered.chunks),
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
