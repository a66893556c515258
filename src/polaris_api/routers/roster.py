"""District roster import (04 RO-1..RO-13): ``POST /api/v1/imports/roster``.

Global staff, or an API key with ``imports:write`` (07 CAP: "upload Pathful files and rosters").
The source is a multipart ``file`` (.csv or .xlsx) or a Google Sheet (form ``sheet_id``, optional
``worksheet``), read as in PF-1/PF-2 through the shared readers; the sheet reader is the same
dependency as the Pathful import's (``routers.imports.get_sheet_reader``), so one override serves
both in tests.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from polaris_api.auth import Importer
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import Problem, UnknownDistrict, problem_responses
from polaris_api.imports import roster as roster_import
from polaris_api.imports.sheets import SheetReader, read_sheet_table
from polaris_api.imports.tabular import ReadLimits, parse_table, read_upload_bytes
from polaris_api.routers.imports import UploadLimitedRoute, get_sheet_reader
from polaris_api.schemas.common import MAX_DB_ID
from polaris_api.schemas.roster import RosterReport
from polaris_api.sync.problems import (
    FILE_SOURCE_PROBLEMS,
    ImportFailed,
    ImportInProgress,
    MassDeactivationBlocked,
    NoValidRows,
    check_file_name,
    require_one_source,
)

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], route_class=UploadLimitedRoute)


@router.post(
    "/roster",
    response_model=RosterReport,
    responses=problem_responses(
        401,
        403,
        422,
        *FILE_SOURCE_PROBLEMS,
        NoValidRows,
        UnknownDistrict,
        ImportInProgress,
        MassDeactivationBlocked,
        ImportFailed,
    ),
)
async def import_roster(
    principal: Importer,
    session: SessionDep,
    settings: SettingsDep,
    reader: Annotated[SheetReader | None, Depends(get_sheet_reader)],
    district_id: Annotated[int, Form(ge=1, le=MAX_DB_ID, description="the district whose roster this is")],
    file: Annotated[UploadFile | None, File(description="the roster, .csv or .xlsx")] = None,
    sheet_id: Annotated[
        str | None,
        Form(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="Google Sheet id, instead of a file"),
    ] = None,
    worksheet: Annotated[
        str | None, Form(max_length=100, description="worksheet of the sheet or .xlsx (default: the first)")
    ] = None,
    force: Annotated[bool, Form(description="proceed past the mass-deactivation guard (RO-9)")] = False,
    dry_run: Annotated[bool, Form(description="report what would change and write nothing")] = False,
) -> Any:
    """Upsert the district's roster for the file's academic year and return the RO-13 report.

    Errors: 415 ``unsupported_file_type``, 413 ``file_too_large``, 422 ``missing_columns``
    (``details.missing``), ``ambiguous_columns``, ``empty_file``, ``no_valid_rows``,
    ``unknown_district``, ``sheet_unavailable``, ``sheets_not_configured``; 409
    ``mass_deactivation_blocked`` (the would-be report in ``report``) and ``import_in_progress``.
    Nothing is written on any refusal; a dry run answers exactly as the real import would.
    """
    require_one_source(file, sheet_id)
    if file is not None:
        check_file_name(file.filename)
        data = await read_upload_bytes(file, settings.upload_max_bytes)
        # issue 11 item 3: bounded, and parsed off the event loop
        table = await asyncio.to_thread(parse_table, data, file.filename, worksheet, ReadLimits.of(settings))
        source_type, source_name, source_bytes = "file", file.filename, data
    else:
        assert sheet_id is not None
        table = await read_sheet_table(reader, sheet_id, worksheet, ReadLimits.of(settings))
        source_type, source_bytes = "sheet", None
        source_name = f"{sheet_id}/{worksheet}" if worksheet else sheet_id
    try:
        return await roster_import.import_roster(
            session,
            table,
            district_id=district_id,
            actor=principal,
            settings=settings,
            force=force,
            dry_run=dry_run,
            source_type=source_type,
            source_name=source_name,
            source_bytes=source_bytes,
        )
    except Problem as problem:
        if problem.code == "import_failed":
            # the failed run's import_run row must outlive the 500 (an error rolls back)
            await session.commit()
        raise
