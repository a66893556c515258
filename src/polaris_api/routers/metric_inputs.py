"""Metric inputs Polaris owns (06 §1, G3, G8, M110; 08 VOC-6): the edits that make the metrics
reading them non-zero. Global admins set the G8 ``virtual_students_per_teacher`` and a school's
level; global staff users set an in-person event's attendance details, ``exclude_from_reports`` on
volunteers, teachers and students, and a volunteer's manual ``local_status``. District users, API
keys and teachers get 403 (07 CAP; students are never exposed to district users, DV-1).

Each write: a field owned by another system → 409 naming it (OWN-2), a bad body → 422, audited with
old and new values, and the reporting data version bumped in the same transaction (06 P4).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from polaris_api.auth import DistrictReader, MetricInputAdmin, MetricInputEditor, MetricsReader
from polaris_api.deps import SessionDep, SettingsDep
from polaris_api.errors import OWNERSHIP_PROBLEMS, problem_responses
from polaris_api.locality import ZipPrefixes
from polaris_api.models.people import Student, Teacher
from polaris_api.routers.publishing import json_object_body
from polaris_api.schemas.common import IdPath
from polaris_api.schemas.metric_inputs import (
    AttendanceDetailIn,
    AttendanceDetailOut,
    ExclusionOut,
    ExclusionUpdate,
    ReportingSettings,
    SchoolUpdate,
    VolunteerReportingOut,
    VolunteerUpdate,
)
from polaris_api.schemas.reference import SchoolOut
from polaris_api.services import metric_inputs
from polaris_api.services.metrics import parameters

router = APIRouter(prefix="/api/v1")

RawBody = Annotated[dict[str, Any], Depends(json_object_body)]


def _body(model: type[Any]) -> dict[str, Any]:
    """Document the strict body (the handler reads the raw object: ownership 409 before 422)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


WRITE_ERRORS = problem_responses(401, 403, 404, 413, 422, *OWNERSHIP_PROBLEMS)


@router.get(
    "/settings/reporting",
    tags=["metrics"],
    response_model=ReportingSettings,
    responses=problem_responses(401, 403),
)
async def get_reporting_settings(principal: DistrictReader, session: SessionDep) -> ReportingSettings:
    """06 G8 parameters of the metric rules. Readable by every staff user and ``read`` key (district
    users see the same value in every metrics response's ``meta.parameters``)."""
    return ReportingSettings(
        virtual_students_per_teacher=await parameters.virtual_students_per_teacher(session)
    )


@router.put(
    "/settings/reporting",
    tags=["metrics"],
    response_model=ReportingSettings,
    responses=problem_responses(401, 403, 422),
)
async def put_reporting_settings(
    body: ReportingSettings, principal: MetricInputAdmin, session: SessionDep
) -> ReportingSettings:
    """Global admin: ``{virtual_students_per_teacher}``, an integer 1-100 (default 25), the ``N`` of M73
    and the year-end virtual estimates. Audited (old and new value); outside 1-100 → 422."""
    value = await parameters.set_virtual_students_per_teacher(
        session, principal, body.virtual_students_per_teacher
    )
    return ReportingSettings(virtual_students_per_teacher=value)


@router.patch(
    "/schools/{school_id}",
    tags=["reference"],
    response_model=SchoolOut,
    responses=WRITE_ERRORS,
    openapi_extra=_body(SchoolUpdate),
)
async def update_school(
    school_id: IdPath, principal: MetricInputAdmin, session: SessionDep, body: RawBody
) -> SchoolOut:
    """Global admin: ``{level}`` = ``elementary``, ``middle``, ``high``, ``other`` or ``null`` (06 §6.5 reads
    ``high``). Salesforce-owned fields (name, district, ...) → 409 ``owned_by_salesforce``."""
    school = await metric_inputs.update_school(session, principal, school_id, body)
    return SchoolOut.model_validate(school)


@router.get(
    "/events/{event_id}/attendance-detail",
    tags=["events"],
    response_model=AttendanceDetailOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_attendance_detail(event_id: IdPath, principal: MetricsReader, session: SessionDep) -> Any:
    """06 M110 inputs of the event (all null when never entered)."""
    return await metric_inputs.get_attendance_detail(session, event_id)


@router.put(
    "/events/{event_id}/attendance-detail",
    tags=["events"],
    response_model=AttendanceDetailOut,
    responses=problem_responses(
        401, 403, 404, 413, 422, *OWNERSHIP_PROBLEMS, metric_inputs.AttendanceDetailInPersonOnly
    ),
    openapi_extra=_body(AttendanceDetailIn),
)
async def put_attendance_detail(
    event_id: IdPath, principal: MetricInputEditor, session: SessionDep, body: RawBody
) -> Any:
    """``{total_students, num_classrooms, rotations}``: non-negative integers or null; the body
    replaces all three (an omitted key is null). In-person events only: a virtual event (06 G7) →
    422 ``attendance_detail_in_person_only``."""
    return await metric_inputs.put_attendance_detail(session, principal, event_id, body)


@router.patch(
    "/volunteers/{volunteer_id}",
    tags=["volunteers"],
    response_model=VolunteerReportingOut,
    responses=WRITE_ERRORS,
    openapi_extra=_body(VolunteerUpdate),
)
async def update_volunteer(
    volunteer_id: IdPath,
    principal: MetricInputEditor,
    session: SessionDep,
    settings: SettingsDep,
    body: RawBody,
) -> Any:
    """``{exclude_from_reports?, local_status?}``. A ``local_status`` value (08 VOC-6) is a manual
    override that imports never change; ``null`` removes it and the value is derived from the
    mailing ZIP code again. Salesforce-owned fields → 409 ``owned_by_salesforce``."""
    prefixes = ZipPrefixes.of(settings.local_zip_prefixes, settings.partial_zip_prefixes)
    return await metric_inputs.update_volunteer(session, principal, volunteer_id, body, prefixes)


@router.patch(
    "/teachers/{teacher_id}",
    tags=["teachers"],
    response_model=ExclusionOut,
    responses=WRITE_ERRORS,
    openapi_extra=_body(ExclusionUpdate),
)
async def update_teacher(
    teacher_id: IdPath, principal: MetricInputEditor, session: SessionDep, body: RawBody
) -> Any:
    """``{exclude_from_reports}`` (06 G3)."""
    teacher = await metric_inputs.update_exclusion(session, principal, Teacher, teacher_id, body)
    return ExclusionOut(id=teacher.id, exclude_from_reports=teacher.exclude_from_reports)


@router.patch(
    "/students/{student_id}",
    tags=["students"],
    response_model=ExclusionOut,
    responses=WRITE_ERRORS,
    openapi_extra=_body(ExclusionUpdate),
)
async def update_student(
    student_id: IdPath, principal: MetricInputEditor, session: SessionDep, body: RawBody
) -> Any:
    """``{exclude_from_reports}`` (06 G3). ``student_id`` is Polaris's id, not the school-issued one;
    the answer carries no student identity (07 DV-1)."""
    student = await metric_inputs.update_exclusion(session, principal, Student, student_id, body)
    return ExclusionOut(id=student.id, exclude_from_reports=student.exclude_from_reports)
