"""Virtual-session reports: presenter recruitment (04 VS-1..VS-3) and the flag list (VS-7).

Global users only (VS-4): district users, API keys and teachers → 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from polaris_api.attendance import InvalidAcademicYear
from polaris_api.auth import Principal, Rule, requires
from polaris_api.db import utcnow
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import check_date_range, problem_responses
from polaris_api.pagination import Pagination
from polaris_api.schemas.common import IdQuery
from polaris_api.schemas.virtual_events import FlagPage, FlagStatus, FlagType, RecruitmentPage
from polaris_api.services import recruitment as service
from polaris_api.services import teacher_progress as tp

router = APIRouter(prefix="/api/v1/reports", tags=["virtual-session-reports"])

VIRTUAL_SESSION_REPORTS = Rule("virtual-session reports", global_only=True, kinds=frozenset({"user"}))
ReportReader = Annotated[Principal, Depends(requires(VIRTUAL_SESSION_REPORTS))]

FromDate = Annotated[dt.date | None, Query(alias="from", description="local date, inclusive")]
ToDate = Annotated[dt.date | None, Query(alias="to", description="local date, inclusive")]


def _check_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    check_date_range(date_from, date_to, start_name="from", end_name="to")


@router.get(
    "/presenter-recruitment",
    response_model=RecruitmentPage,
    responses=problem_responses(401, 403, 422, InvalidAcademicYear),
)
async def presenter_recruitment(
    principal: ReportReader,
    session: SessionDep,
    settings: SettingsDep,
    pagination: Pagination,
    academic_year: Annotated[str | None, Query(pattern=r"^\d{4}-\d{4}$", description="YYYY-YYYY")] = None,
    date_from: FromDate = None,
    date_to: ToDate = None,
    school_id: IdQuery | None = None,
    district_id: IdQuery | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="title or teacher name")] = None,
) -> RecruitmentPage:
    """Upcoming ``virtual_session`` events, not cancelled or no-show, with no presenter (VS-1),
    by ``start_date`` then id, with ``days_until`` and ``urgency`` (VS-2) in local dates."""
    _check_range(date_from, date_to)
    window = None
    if academic_year is not None:
        bounds = tp.window_for(academic_year, settings.tz)
        window = (bounds.start, bounds.end)
    return await service.presenter_recruitment(
        session,
        pagination,
        now=utcnow(),
        zone=settings.tz,
        window=window,
        date_from=date_from,
        date_to=date_to,
        school_id=school_id,
        district_id=district_id,
        q=q,
    )


@router.get("/virtual-session-flags", response_model=FlagPage, responses=problem_responses(401, 403, 422))
async def virtual_session_flags(
    principal: ReportReader,
    session: SessionDep,
    settings: SettingsDep,
    pagination: Pagination,
    type_: Annotated[FlagType | None, Query(alias="type")] = None,
    status_: Annotated[FlagStatus | None, Query(alias="status")] = None,
    district_id: IdQuery | None = None,
    date_from: FromDate = None,
    date_to: ToDate = None,
) -> FlagPage:
    """VS-6 flags with their event, by event start then flag type; ``from``/``to`` are local dates
    of the event's start."""
    _check_range(date_from, date_to)
    return await service.list_flags(
        session,
        pagination,
        zone=settings.tz,
        flag_type=type_,
        status=status_,
        district_id=district_id,
        date_from=date_from,
        date_to=date_to,
    )
