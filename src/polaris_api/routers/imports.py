"""Pathful imports, import reports and the unmatched / no-date queues (04 PF-*, 00 §5.1).

Access (07 CAP "upload Pathful files", "resolve unmatched import rows"): uploads and reports are
for global staff of any level or an API key with ``imports:write`` (``Importer``); the queues,
which hold names and emails, are for global staff users only (``UnmatchedResolver``).
The roster import (``POST /imports/roster``) lives in ``routers/roster.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.routing import APIRoute
from starlette.responses import Response

from polaris_api.auth import Importer, UnmatchedResolver
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import problem_responses
from polaris_api.imports.pathful import importer as pathful_import
from polaris_api.imports.pathful import unmatched as pathful_queue
from polaris_api.imports.sheets import SheetReader, sheet_reader_from_settings
from polaris_api.pagination import Page, Pagination, paginate
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.pathful import (
    BulkIgnoreBody,
    BulkIgnoreResult,
    DateBody,
    IgnoreBody,
    ImportMode,
    ImportRunOut,
    PathfulImportReport,
    ResolveBody,
    ResolveResult,
    UnmatchedRecordOut,
)
from polaris_api.sync.problems import (
    FILE_SOURCE_PROBLEMS,
    PATHFUL_FILE_PROBLEMS,
    AlreadyResolved,
    EventMissing,
    FileTooLarge,
    ImportFailed,
    ImportInProgress,
    InvalidStart,
    NoRows,
    TeacherRequired,
    VolunteerRequired,
    WrongRecordType,
    require_one_source,
)

MULTIPART_SLACK = 64 * 1024  # form fields and part headers around the file


class UploadLimitedRoute(APIRoute):
    """Refuses a body whose declared length exceeds the upload limit before it is parsed (PRIV-4).

    Bodies sent without a length are still cut off at the limit while the file is read.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            limit = request.app.state.settings.upload_max_bytes
            if length.isdigit() and int(length) > limit + MULTIPART_SLACK:
                raise FileTooLarge(f"The upload is larger than {limit} bytes.")
            return await handler(request)

        return limited


router = APIRouter(prefix="/api/v1/imports", tags=["imports"], route_class=UploadLimitedRoute)


def get_sheet_reader(settings: SettingsDep) -> SheetReader | None:
    """The Google Sheets reader (a seam: tests override this dependency)."""
    return sheet_reader_from_settings(settings)


SheetReaderDep = Annotated[SheetReader | None, Depends(get_sheet_reader)]


@router.post(
    "/pathful",
    response_model=PathfulImportReport,
    responses=problem_responses(
        401, 403, 422, *FILE_SOURCE_PROBLEMS, *PATHFUL_FILE_PROBLEMS, ImportInProgress, ImportFailed
    ),
)
async def import_pathful(
    principal: Importer,
    session: SessionDep,
    settings: SettingsDep,
    reader: SheetReaderDep,
    file: Annotated[UploadFile | None, File(description="Pathful Session Report, .csv or .xlsx")] = None,
    sheet_id: Annotated[
        str | None,
        Form(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="Google Sheet id, instead of a file"),
    ] = None,
    worksheet: Annotated[
        str | None, Form(max_length=100, description="worksheet of the sheet or .xlsx (default: the first)")
    ] = None,
    mode: Annotated[ImportMode | None, Form(description="PF-10; default current_semester")] = None,
    since: Annotated[dt.date | None, Form(description="YYYY-MM-DD, with mode=since")] = None,
    dry_run: Annotated[bool, Form(description="report what would change; write nothing (PF-20)")] = False,
) -> PathfulImportReport:
    """Import a Pathful Session Report (PF-1..PF-22) and return its PF-19 report.

    Errors: 415 ``unsupported_file_type``, 413 ``file_too_large``, 422 ``missing_columns``
    (``details.missing``), ``ambiguous_columns``, ``empty_file``, ``unreadable_file``,
    ``cell_too_long``, ``sheet_unavailable``, ``sheets_not_configured``; 409 ``import_in_progress``.
    """
    require_one_source(file, sheet_id)
    if file is not None:
        report = await pathful_import.import_pathful_upload(
            session,
            settings,
            file,
            principal=principal,
            mode=mode,
            since=since,
            dry_run=dry_run,
            worksheet=worksheet,
        )
    else:
        assert sheet_id is not None
        report = await pathful_import.import_pathful_sheet(
            session,
            settings,
            reader,
            sheet_id,
            worksheet,
            principal=principal,
            mode=mode,
            since=since,
            dry_run=dry_run,
        )
    return PathfulImportReport.model_validate(report)


# --- the queues (declared before /{import_id})


@router.get("/unmatched", response_model=Page[UnmatchedRecordOut], responses=problem_responses(401, 403, 422))
async def list_unmatched(
    principal: UnmatchedResolver,
    session: SessionDep,
    pagination: Pagination,
    type: Annotated[Literal["teacher", "volunteer", "no_date_session"] | None, Query()] = None,
    status: Annotated[Literal["pending", "resolved", "ignored"] | None, Query()] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[UnmatchedRecordOut]:
    """Unmatched teacher / presenter rows and undated sessions (PF-17), oldest first."""
    statement = pathful_queue.unmatched_statement(type=type, status=status, session_id=session_id)
    return await paginate(session, statement, pagination, UnmatchedRecordOut.model_validate)


@router.post(
    "/unmatched/bulk-ignore",
    response_model=BulkIgnoreResult,
    responses=problem_responses(401, 403, 404, 422),
)
async def bulk_ignore_unmatched(
    body: BulkIgnoreBody, principal: UnmatchedResolver, session: SessionDep
) -> BulkIgnoreResult:
    """Mark up to 100 records ignored; resolved ones are left as they are (``skipped``)."""
    return BulkIgnoreResult.model_validate(
        await pathful_queue.bulk_ignore(session, principal, body.ids, body.reason)
    )


@router.post(
    "/unmatched/{record_id}/resolve",
    response_model=ResolveResult,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        WrongRecordType,
        TeacherRequired,
        VolunteerRequired,
        AlreadyResolved,
        EventMissing,
        ImportInProgress,
        ImportFailed,
    ),
)
async def resolve_unmatched(
    record_id: IdPath,
    body: ResolveBody,
    principal: UnmatchedResolver,
    session: SessionDep,
    settings: SettingsDep,
) -> ResolveResult:
    """Link a teacher (or volunteer) record by hand: back-fill its Pathful id, replay the stored
    row (PF-14/15 or PF-16), then resolve the other pending records with the same User Auth Id
    (``also_resolved``). 409 ``event_missing`` when the session has no event; resolving again
    with the same person replays the row again (no change)."""
    result = await pathful_queue.resolve_unmatched(session, settings, principal, record_id, body)
    return ResolveResult(
        record=UnmatchedRecordOut.model_validate(result["record"]),
        outcome=result["outcome"],
        event_id=result["event_id"],
        also_resolved=[UnmatchedRecordOut.model_validate(r) for r in result["also_resolved"]],
    )


@router.post(
    "/unmatched/{record_id}/date",
    response_model=PathfulImportReport,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        WrongRecordType,
        NoRows,
        InvalidStart,
        AlreadyResolved,
        ImportInProgress,
        ImportFailed,
    ),
)
async def date_undated_session(
    record_id: IdPath,
    body: DateBody,
    principal: UnmatchedResolver,
    session: SessionDep,
    settings: SettingsDep,
) -> PathfulImportReport:
    """The no-date queue (PF-18): give an undated session its start; its stored rows run as a
    one-session import without cutoff and the ``undated_resolution`` report is returned."""
    return PathfulImportReport.model_validate(
        await pathful_queue.resolve_no_date(session, settings, principal, record_id, body.start)
    )


@router.post(
    "/unmatched/{record_id}/ignore",
    response_model=UnmatchedRecordOut,
    responses=problem_responses(401, 403, 404, 422, AlreadyResolved),
)
async def ignore_unmatched(
    record_id: IdPath, body: IgnoreBody, principal: UnmatchedResolver, session: SessionDep
) -> UnmatchedRecordOut:
    """Mark a record ignored (later imports leave it ignored; its rows still count as unmatched)."""
    return UnmatchedRecordOut.model_validate(
        await pathful_queue.ignore_unmatched(session, principal, record_id, body.reason)
    )


@router.get("/{import_id}", response_model=ImportRunOut, responses=problem_responses(401, 403, 404, 422))
async def get_import(import_id: IdPath, principal: Importer, session: SessionDep) -> ImportRunOut:
    """A stored import report (Pathful, undated resolution or roster), as it was returned."""
    return ImportRunOut.model_validate(await pathful_import.get_import(session, import_id))


__all__ = ["get_sheet_reader", "router"]
