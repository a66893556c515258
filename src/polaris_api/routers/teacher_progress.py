"""Teacher progress (04 TP-1..TP-4, 06 §5) and attendance overrides (TP-5, TP-6).

Reads are district data (07 CAP "teacher progress drill-down"): global users, ``read`` API keys,
and district users inside their districts. A district id outside the caller's districts in the
query → 403; lists and summaries are silently restricted; a record of another district in the
path → 403 (07 AC-6: it is another district's data), an unknown id → 404. Overrides are for admins
and global manager+ users (CAP "attendance overrides"). Status is computed on every read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from polaris_api.attendance import InvalidAcademicYear
from polaris_api.auth import AttendanceManager, DistrictReader
from polaris_api.db import utcnow
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import not_found, problem_responses
from polaris_api.models.teachers import TeacherProgress
from polaris_api.pagination import Pagination
from polaris_api.schemas.common import IdPath, IdQuery
from polaris_api.schemas.roster import (
    OverrideCreate,
    OverrideOut,
    OverrideReverse,
    ProgressStatus,
    TeacherProgressDetail,
    TeacherProgressPage,
    TeacherProgressSummary,
)
from polaris_api.services import teacher_progress as tp

router = APIRouter(tags=["teacher-progress"])

AcademicYear = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-\d{4}$", description="YYYY-YYYY; default: the year containing today (local)"),
]


@router.get(
    "/api/v1/teacher-progress",
    response_model=TeacherProgressPage,
    responses=problem_responses(401, 403, 422, InvalidAcademicYear),
)
async def list_progress(
    principal: DistrictReader,
    session: SessionDep,
    settings: SettingsDep,
    pagination: Pagination,
    district_id: IdQuery | None = None,
    school_id: IdQuery | None = None,
    status_: Annotated[ProgressStatus | None, Query(alias="status")] = None,
    academic_year: AcademicYear = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the name or email")] = None,
) -> Any:
    """Active roster records of the year with ``attended_count`` and ``status`` (TP-1, TP-3, TP-4)."""
    now = utcnow()
    window = tp.window_for(academic_year or tp.current_academic_year(settings.tz, now), settings.tz)
    items, total = await tp.list_progress(
        session,
        window=window,
        now=now,
        principal=principal,
        district_id=district_id,
        school_id=school_id,
        status=status_,
        q=q,
        limit=pagination.page_size,
        offset=pagination.offset,
    )
    filters = {"district_id": district_id, "school_id": school_id, "status": status_, "q": q}
    return {
        "items": items,
        "page": pagination.page,
        "page_size": pagination.page_size,
        "total": total,
        "meta": await tp.progress_meta(session, settings.timezone, filters, window, now),
    }


@router.get(
    "/api/v1/teacher-progress/summary",
    response_model=TeacherProgressSummary,
    responses=problem_responses(401, 403, 422, InvalidAcademicYear),
)
async def progress_summary(
    principal: DistrictReader,
    session: SessionDep,
    settings: SettingsDep,
    academic_year: AcademicYear = None,
    district_id: IdQuery | None = None,
) -> Any:
    """06 §5: per district, then per school (Unknown school last); statuses add up at every level."""
    now = utcnow()
    window = tp.window_for(academic_year or tp.current_academic_year(settings.tz, now), settings.tz)
    districts = await tp.summary(
        session,
        window=window,
        now=now,
        principal=principal,
        district_id=district_id,
    )
    return {
        "meta": await tp.progress_meta(session, settings.timezone, {"district_id": district_id}, window, now),
        "academic_year": window.academic_year,
        "districts": districts,
    }


@router.get(
    "/api/v1/teacher-progress/{teacher_progress_id}",
    response_model=TeacherProgressDetail,
    responses=problem_responses(401, 403, 404, 422),
)
async def progress_detail(
    teacher_progress_id: IdPath, principal: DistrictReader, session: SessionDep, settings: SettingsDep
) -> Any:
    """One record in its own academic year: progress, ``sessions`` (``counted`` marks exactly the
    events making up ``attended_count``) and every override, active or not."""
    record = await session.get(TeacherProgress, teacher_progress_id)
    if record is None:
        raise not_found("teacher progress record")
    principal.require_districts([record.district_id])
    now = utcnow()
    window = tp.window_for(record.academic_year, settings.tz)
    item = await tp.record_progress(session, record.id, window, now)
    sessions, overrides = await tp.record_sessions(session, record, window)
    return {
        **item,
        "deactivation_source": record.deactivation_source,
        "deactivated_at": record.deactivated_at,
        "deactivation_reason": record.deactivation_reason,
        "deactivation_notes": record.deactivation_notes,
        "reactivated_at": record.reactivated_at,
        "reactivation_reason": record.reactivation_reason,
        "window_start": window.start,
        "window_end": window.end,
        "sessions": sessions,
        "overrides": [OverrideOut.model_validate(o) for o in overrides],
        "meta": await tp.progress_meta(
            session, settings.timezone, {"district_id": record.district_id}, window, now
        ),
    }


@router.post(
    "/api/v1/teacher-progress/{teacher_progress_id}/overrides",
    response_model=OverrideOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 422, InvalidAcademicYear, *tp.OVERRIDE_PROBLEMS),
)
async def create_override(
    teacher_progress_id: IdPath,
    body: OverrideCreate,
    principal: AttendanceManager,
    session: SessionDep,
    settings: SettingsDep,
) -> OverrideOut:
    """TP-5: ``add`` an attendance for a started, not yet counted virtual event of the record's
    year (409 ``already_counted``, ``event_not_started``), or ``remove`` a counted one (409
    ``not_counted``); one active override per record and event (409 ``override_exists``)."""
    override = await tp.create_override(session, principal, teacher_progress_id, body, zone=settings.tz)
    return OverrideOut.model_validate(override)


@router.post(
    "/api/v1/overrides/{override_id}/reverse",
    response_model=OverrideOut,
    responses=problem_responses(401, 403, 404, 422, tp.AlreadyReversed),
)
async def reverse_override(
    override_id: IdPath, body: OverrideReverse, principal: AttendanceManager, session: SessionDep
) -> OverrideOut:
    """TP-6: deactivate the override (it is kept); reversing an inactive one → 409 ``already_reversed``."""
    override = await tp.reverse_override(session, principal, override_id, body.reason)
    return OverrideOut.model_validate(override)
