"""District year-end reports (06 §6): the card list, the full district report with its CSV/XLSX
exports, and the manual inputs.

Access (07): reading is "district metrics, year-end report" (CAP): global staff and ``read`` API
keys see every district, district users only their own (another district's id → 403, the card
list silently restricted, AC-6). Writing manual inputs is limited to global staff users: 07 gives
district users no write on report data (their only write is a cancellation reason), and API keys
have no write scope for it. No body or export carries a DV-1 field: every figure is an aggregate.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic_core import to_json
from starlette.responses import Response

from polaris_api.auth import DistrictReader, Principal, Rule, requires
from polaris_api.clock import local_today
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import problem_responses
from polaris_api.pagination import Pagination
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.reports import ManualInputsOut, ManualInputsUpdate, YearEndCardPage, YearEndReport
from polaris_api.services.metrics import exports, parameters, year_end
from polaris_api.services.metrics import meta as report_meta
from polaris_api.services.metrics.manual_inputs import update_manual_inputs
from polaris_api.services.metrics.school_year import (
    InvalidSchoolYear,
    SchoolYear,
    current_school_year,
    parse_school_year,
)
from polaris_api.services.metrics.sql import HostFilter

router = APIRouter(prefix="/api/v1/reports", tags=["year-end-reports"])

MANUAL_INPUTS = Rule("year-end manual inputs", global_only=True, kinds=frozenset({"user"}))
ManualInputEditor = Annotated[Principal, Depends(requires(MANUAL_INPUTS))]

SchoolYearQuery = Annotated[
    str | None,
    Query(
        max_length=8,
        description="YYZZ, e.g. 2425 = 2024-08-01..2025-07-31 (Chicago); default: the current school year",
    ),
]
HostQuery = Annotated[HostFilter, Query(description="all (default) or prepkc (06 G10)")]
ReportFormat = Literal["json", "csv", "xlsx"]
ExportPart = Literal["timeline", "by_school"]


def _school_year(code: str | None, settings: Any) -> SchoolYear:
    today = local_today(settings.tz)
    return current_school_year(today) if code is None else parse_school_year(code, today)


@router.get(
    "/year-end",
    response_model=YearEndCardPage,
    responses=problem_responses(401, 403, 422, InvalidSchoolYear),
)
async def year_end_cards(
    principal: DistrictReader,
    session: SessionDep,
    settings: SettingsDep,
    pagination: Pagination,
    school_year: SchoolYearQuery = None,
    host_filter: HostQuery = "all",
) -> Any:
    """06 §6.7: one card per non-deleted district (by name, then id), the district's ``enhanced``
    ``events.total``, ``students.total``, ``volunteers.hours_total`` and ``volunteers.unique_total``.
    District users get their own districts' cards only."""
    year = _school_year(school_year, settings)
    n = await parameters.virtual_students_per_teacher(session)
    page = await year_end.district_cards(
        session,
        pagination,
        visible_district_ids=principal.visible_district_ids(),
        year=year,
        host_filter=host_filter,
        zone=settings.tz,
        n=n,
    )
    return {
        "meta": await _meta(session, settings, year, host_filter, district_id=None, n=n),
        "school_year": year.code,
        "school_year_label": year.label,
        "host_filter": host_filter,
        **page.model_dump(),
    }


@router.get(
    "/districts/{district_id}/year-end",
    response_model=YearEndReport,
    responses={**exports.FILE_RESPONSES, **problem_responses(401, 403, 404, 422, InvalidSchoolYear)},
)
async def district_year_end(
    district_id: IdPath,
    principal: DistrictReader,
    session: SessionDep,
    settings: SettingsDep,
    school_year: SchoolYearQuery = None,
    host_filter: HostQuery = "all",
    format: Annotated[ReportFormat, Query(description="json (default), csv or xlsx")] = "json",
    part: Annotated[
        ExportPart, Query(description="CSV only: timeline (event rows, default) or by_school")
    ] = "timeline",
) -> Any:
    """06 §6.9: ``enhanced`` (§6.4), ``program_breakdown`` (§6.5), ``timeline`` (§6.6, connector
    sessions excluded) and ``manual_inputs`` (§6.8, this exact host filter) for one district.

    ``format=xlsx`` gives sheets ``timeline``, ``by_school`` and ``metadata``; ``format=csv`` the
    rows of ``part`` with the §7 meta in the ``X-Report-Meta`` header. Exports are audited."""
    principal.require_districts([district_id])  # whatever spelling the path used
    year = _school_year(school_year, settings)
    district = await year_end.district_or_404(session, district_id)
    n = await parameters.virtual_students_per_teacher(session)
    report = await year_end.district_report(
        session, district, year=year, host_filter=host_filter, zone=settings.tz, n=n
    )
    meta = await _meta(session, settings, year, host_filter, district_id=district.id, n=n)
    if format == "json":
        # 06 P2: the body (thousands of timeline rows, twice) is encoded once by pydantic-core's
        # serializer; re-validating it against ``YearEndReport`` cost more than the SQL. The
        # service builds exactly that shape (tests check the round trip); the model stays the
        # documented response.
        return Response(to_json({"meta": meta, **report}), media_type="application/json")
    return await _export(session, principal, report, meta, format, part)


@router.put(
    "/districts/{district_id}/year-end/manual-inputs",
    response_model=ManualInputsOut,
    responses=problem_responses(401, 403, 404, 422, InvalidSchoolYear),
)
async def put_manual_inputs(
    district_id: IdPath,
    body: ManualInputsUpdate,
    principal: ManualInputEditor,
    session: SessionDep,
    settings: SettingsDep,
    school_year: SchoolYearQuery = None,
    host_filter: HostQuery = "all",
) -> Any:
    """06 §6.8 partial update for the exact ``(district, school_year, host_filter)``: a number sets
    a key, ``null`` deletes it, absent keys stay. Audited (``year_end.manual_inputs.updated``).
    Manual inputs are shown beside the computed figures and never change any of them."""
    year = _school_year(school_year, settings)
    district = await year_end.district_or_404(session, district_id)
    values = await update_manual_inputs(
        session,
        principal,
        district_id=district.id,
        school_year=year.code,
        host_filter=host_filter,
        changes=body.changes(),
    )
    return {
        "district": {"id": district.id, "name": district.name},
        "school_year": year.code,
        "host_filter": host_filter,
        "manual_inputs": values,
    }


async def _meta(
    session: SessionDep, settings: Any, year: SchoolYear, host_filter: str, *, district_id: int | None, n: int
) -> dict[str, Any]:
    """06 §7: year-end reads all eight Salesforce objects and Pathful data."""
    filters = {
        "start_date": year.start_date.isoformat(),
        "end_date": year.end_date.isoformat(),
        "timezone": settings.timezone,
        "school_year": year.code,
        "district_id": district_id,
        "host_filter": host_filter,
    }
    return await report_meta.build_meta(
        session, filters=filters, objects=report_meta.ALL_OBJECTS, pathful=True, n=n
    )


TIMELINE_COLUMNS = (
    "event_id",
    "title",
    "start_date",
    "type",
    "format",
    "school_id",
    "school_name",
    "students",
    "volunteers",
    "volunteer_hours",
)
BY_SCHOOL_COLUMNS = ("school_id", "school_name", "events", "students", "volunteers", "volunteer_hours")


def _export_sheets(report: dict[str, Any]) -> dict[str, exports.Table]:
    """Timeline rows, by-school sums, events by month and the figures (dotted keys)."""
    timeline = report["timeline"]
    event_rows = [
        (
            row["event_id"],
            row["title"],
            report_meta.iso_z(row["start_date"]),
            row["type"],
            row["format"],
            (row["school"] or {}).get("id"),
            (row["school"] or {}).get("name"),
            row["students"],
            row["volunteers"],
            row["volunteer_hours"],
        )
        for row in timeline["events"]
    ]
    school_rows = [
        (
            group["school"]["id"],
            group["school"]["name"],
            group["events_count"],
            group["students"],
            group["volunteers"],
            group["volunteer_hours"],
        )
        for group in timeline["by_school"]
    ]
    figures = exports.flatten(
        {key: report[key] for key in ("enhanced", "program_breakdown", "manual_inputs")}
    )
    return {
        "timeline": (TIMELINE_COLUMNS, event_rows),
        "by_school": (BY_SCHOOL_COLUMNS, school_rows),
        "events_by_month": (
            ("month", "events"),
            [(m["month"], m["events"]) for m in timeline["events_by_month"]],
        ),
        "figures": (("figure", "value"), figures),
    }


async def _export(
    session: SessionDep,
    principal: Principal,
    report: dict[str, Any],
    meta: dict[str, Any],
    format: exports.ExportFormat,
    part: ExportPart,
) -> Response:
    """CSV: the ``part`` rows; XLSX: every sheet. Audited with filters and row count (AUD-1)."""
    sheets = _export_sheets(report)
    if format == "csv":
        sheets = {part: sheets[part]}
    row_count = sum(
        len(list(rows)) for name, (_, rows) in sheets.items() if name in ("timeline", "by_school")
    )
    await exports.audit_export(
        session,
        principal,
        action="year_end.exported",
        format=format,
        filters={**meta["filters"], "part": part if format == "csv" else None},
        row_count=row_count,
        entity_type="district",
        entity_id=report["district"]["id"],
    )
    filename = f"year-end-{report['school_year']}-district-{report['district']['id']}"
    if format == "csv":
        filename += f"-{part}"
    return exports.file_response(format, filename, sheets, meta)
