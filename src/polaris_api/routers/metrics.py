"""``GET /api/v1/metrics`` (06 §3 catalogue, §4 grouped output, §7 meta; exports).

Access (07): global staff and ``read`` API keys get every figure; a district-scoped caller must
pass one of its own districts as ``district_id`` (another district or none: 403, a figure
without a district is a global metric). With ``group_by=district`` a district caller gets only
its own districts' rows; ``group_by=school`` is restricted by its ``district_id`` filter.
Every figure is an aggregate: no DV-1 field can appear in a body or an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from polaris_api.auth import MetricsViewer
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import problem_responses
from polaris_api.schemas.common import IdQuery
from polaris_api.schemas.metrics import MetricsResponse
from polaris_api.services.metrics import catalogue, exports, parameters
from polaris_api.services.metrics.sql import EventFormat, HostFilter
from polaris_api.services.readable import require_readable_school
from polaris_api.vocabularies import VocabularyChoice

router = APIRouter(prefix="/api/v1", tags=["metrics"])

EventTypeCode = Annotated[str, VocabularyChoice("event_type")]


@router.get(
    "/metrics",
    response_model=MetricsResponse,
    response_model_exclude_unset=True,
    responses={
        **exports.FILE_RESPONSES,
        **problem_responses(401, 403, 422, catalogue.UnknownMetric, catalogue.InvalidWindow),
    },
)
async def get_metrics(
    principal: MetricsViewer,
    session: SessionDep,
    settings: SettingsDep,
    start_date: Annotated[dt.date, Query(description="First Chicago date of the window (06 G1)")],
    end_date: Annotated[dt.date, Query(description="Last Chicago date of the window, inclusive")],
    district_id: IdQuery | None = None,
    school_id: IdQuery | None = None,
    event_type: Annotated[list[EventTypeCode], Query(description="Repeatable (06 G9)")] = [],  # noqa: B006
    event_format: Annotated[EventFormat | None, Query(description="in_person or virtual (06 G7)")] = None,
    host_filter: Annotated[HostFilter, Query(description="all (default) or prepkc (06 G10)")] = "all",
    ids: Annotated[list[str], Query(description="Metric ids, comma-separated or repeated; default all")] = [],  # noqa: B006
    group_by: Annotated[Literal["district", "school"] | None, Query(description="06 §4")] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json (default), csv or xlsx")
    ] = "json",
) -> Any:
    """06 §3 metrics for a Chicago-date window, filtered (G9/G10), optionally grouped (§4: rows
    by name then id, Unknown last). ``format=csv|xlsx`` exports the same figures (audited)."""
    await require_readable_school(session, principal, school_id)  # AC-6, like district_id
    query = catalogue.MetricsQuery(
        start_date=start_date,
        end_date=end_date,
        district_id=district_id,
        school_id=school_id,
        event_types=tuple(sorted(set(event_type))),
        event_format=event_format,
        host_filter=host_filter,
        ids=catalogue.parse_ids(ids),
        group_by=group_by,
    )
    body = await catalogue.metrics_report(
        session,
        query,
        zone=settings.tz,
        n=await parameters.virtual_students_per_teacher(session),
        visible_district_ids=principal.visible_district_ids(),
    )
    if format == "json":
        return body
    columns, rows = catalogue.export_table(body)
    await exports.audit_export(
        session,
        principal,
        action="metrics.exported",
        format=format,
        filters=body["meta"]["filters"],
        row_count=len(rows),
        entity_type="metrics",
    )
    return exports.file_response(format, "metrics", {"metrics": (columns, rows)}, body["meta"])
