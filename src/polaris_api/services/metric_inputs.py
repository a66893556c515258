"""Metric inputs Polaris owns (06 §1; issue 9 item 9): school level, in-person attendance details
(M110), ``exclude_from_reports`` on volunteers, teachers and students (G3), and the manual override
of a volunteer's ``local_status`` (08 VOC-6).

Every write: checks the body against the ownership registry (a field owned by another system →
409 naming it, OWN-2) and then the strict body (422), is audited with old and new values
(07 AUD-1/2), and bumps the reporting data version in the same transaction (06 P4). A write that
changes nothing records nothing and bumps nothing. Services flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.db import utcnow
from polaris_api.errors import NamedProblem, not_found, validation_problem
from polaris_api.locality import DERIVED, MANUAL, ZipPrefixes, refresh_local_status
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.events import Event, EventAttendanceDetail, event_is_virtual
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import School
from polaris_api.ownership import OWNERSHIP, Owner, check_writable
from polaris_api.schemas.metric_inputs import (
    AttendanceDetailIn,
    ExclusionUpdate,
    SchoolUpdate,
    VolunteerUpdate,
)
from polaris_api.services import audit
from polaris_api.services.lookups import get_live

BodyT = TypeVar("BodyT", bound=BaseModel)
PersonT = TypeVar("PersonT", Volunteer, Teacher, Student)
ExcludableT = TypeVar("ExcludableT", Teacher, Student)


class AttendanceDetailInPersonOnly(NamedProblem):
    """06 M110 is defined for in-person events only (G7): a virtual event has no attendance detail."""

    status, code = 422, "attendance_detail_in_person_only"
    default_detail = "Attendance details (06 M110) apply to in-person events only; this event is virtual."


def parse_body(entity: str, raw: Mapping[str, Any], model: type[BodyT], *, sf_linked: bool = True) -> BodyT:
    """OWN-2 first (a key of ``entity`` that Polaris does not own → 409 naming the owner), then the
    strict body (422). Nothing has been written when either refuses."""
    known = OWNERSHIP[entity]
    check_writable(entity, [key for key in raw if key in known], Owner.polaris, sf_linked=sf_linked)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


async def _changed(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: int,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Audit the fields that changed and bump the reporting data version (06 P4)."""
    changes = {field: (old, new) for field, (old, new) in changes.items() if old != new}
    if not changes:
        return
    await audit.record(
        session, action, actor=principal, entity_type=entity, entity_id=entity_id, changes=changes
    )
    await bump_reporting_data_version(session)
    await session.flush()


# ---------------------------------------------------------------------------------------------
# school.level


async def update_school(
    session: AsyncSession, principal: Principal, school_id: int, raw: Mapping[str, Any]
) -> School:
    school = await get_live(session, School, school_id, "school")
    body = parse_body("school", raw, SchoolUpdate, sf_linked=school.salesforce_id is not None)
    old = school.level
    school.level = body.level
    await _changed(
        session, principal, "school.level.updated", "school", school.id, {"level": (old, body.level)}
    )
    return school


# ---------------------------------------------------------------------------------------------
# event_attendance_detail (M110)


async def get_attendance_detail(session: AsyncSession, event_id: int) -> EventAttendanceDetail:
    """The event's detail; an in-person event without one reads as all-null (never 404)."""
    event = await get_live(session, Event, event_id, "event")
    found = await _detail_of(session, event.id)
    return found or EventAttendanceDetail(event_id=event.id)


async def _detail_of(session: AsyncSession, event_id: int) -> EventAttendanceDetail | None:
    return (
        await session.execute(select(EventAttendanceDetail).where(EventAttendanceDetail.event_id == event_id))
    ).scalar_one_or_none()


async def put_attendance_detail(
    session: AsyncSession, principal: Principal, event_id: int, raw: Mapping[str, Any]
) -> EventAttendanceDetail:
    event = await get_live(session, Event, event_id, "event")
    body = parse_body("event_attendance_detail", raw, AttendanceDetailIn)
    if event_is_virtual(event):
        raise AttendanceDetailInPersonOnly()
    detail = await _detail_of(session, event.id)
    if detail is None:
        detail = EventAttendanceDetail(event_id=event.id)
        session.add(detail)
    fields = ("total_students", "num_classrooms", "rotations")
    before = {field: getattr(detail, field) for field in fields}
    after = body.model_dump(include=set(fields))
    for field, value in after.items():
        setattr(detail, field, value)
    if before != after:
        detail.updated_by_id = principal.user_id
    await session.flush()
    await _changed(
        session,
        principal,
        "event.attendance_detail.updated",
        "event",
        event.id,
        {field: (before[field], after[field]) for field in fields},
    )
    return detail


# ---------------------------------------------------------------------------------------------
# exclude_from_reports (G3) and the volunteer's local_status override (VOC-6)


async def _person(session: AsyncSession, model: type[PersonT], person_id: int) -> PersonT:
    person = await session.get(model, person_id)
    if person is None:
        raise not_found(model.__tablename__)
    return person


async def update_exclusion(
    session: AsyncSession,
    principal: Principal,
    model: type[ExcludableT],
    person_id: int,
    raw: Mapping[str, Any],
) -> ExcludableT:
    """``exclude_from_reports`` of a teacher or a student."""
    person = await _person(session, model, person_id)
    entity = model.__tablename__
    body = parse_body(entity, raw, ExclusionUpdate, sf_linked=person.salesforce_id is not None)
    old = person.exclude_from_reports
    person.exclude_from_reports = body.exclude_from_reports
    await _changed(
        session,
        principal,
        f"{entity}.exclude_from_reports.updated",
        entity,
        person.id,
        {"exclude_from_reports": (old, body.exclude_from_reports)},
    )
    return person


async def update_volunteer(
    session: AsyncSession,
    principal: Principal,
    volunteer_id: int,
    raw: Mapping[str, Any],
    prefixes: ZipPrefixes,
) -> Volunteer:
    """``exclude_from_reports`` and/or ``local_status``: a value is a manual override (imports
    never change it); ``null`` removes the override and derives the value from the ZIP code again."""
    volunteer = await _person(session, Volunteer, volunteer_id)
    body = parse_body("volunteer", raw, VolunteerUpdate, sf_linked=volunteer.source == "salesforce")
    fields = ("exclude_from_reports", "local_status", "local_status_source")
    before = {field: getattr(volunteer, field) for field in fields}
    if "exclude_from_reports" in body.model_fields_set:
        volunteer.exclude_from_reports = body.exclude_from_reports
    if "local_status" in body.model_fields_set:
        if body.local_status is None:
            volunteer.local_status_source = DERIVED
            refresh_local_status(volunteer, prefixes)
        else:
            if body.local_status != volunteer.local_status:
                volunteer.local_status_updated_at = utcnow()
            volunteer.local_status, volunteer.local_status_source = body.local_status, MANUAL
    await _changed(
        session,
        principal,
        "volunteer.reporting.updated",
        "volunteer",
        volunteer.id,
        {field: (before[field], getattr(volunteer, field)) for field in fields},
    )
    return volunteer
