"""Staff event reads (00 §5.2 "events"; 07 CAP "event list and event detail", DV-1, DV-2).

An event's districts are its district links (``event_district``), the district of its school, and
the districts of its linked teachers' schools. Global callers see every event that is not
deleted in its source; a district-scoped caller sees only events with a district in their scope
(lists are restricted silently, a detail outside it is 404) and gets the ``district`` view, whose
models have no person fields (participants as aggregates only, DV-1).

Everything for a page is loaded with a fixed number of queries, whatever the page size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.auth import Principal
from polaris_api.errors import not_found
from polaris_api.models.events import (
    Event,
    EventDistrict,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Teacher, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.pagination import PageParams
from polaris_api.schemas.events import (
    DistrictEventDetail,
    DistrictEventListItem,
    EventDetail,
    EventDistrictRef,
    EventListItem,
    EventPage,
    EventSchool,
    ParticipantAggregates,
    TeacherParticipant,
    VolunteerParticipant,
)
from polaris_api.services.readable import event_in_districts, readable_events, require_readable_school
from polaris_api.vocabularies import ATTENDED_VOLUNTEER_STATUSES, REACHED_STUDENT_STATUSES

ATTENDED_TEACHER_STATUS = "attended"


@dataclass(frozen=True)
class EventFilters:
    format: str | None = None
    event_type: str | None = None
    status: str | None = None
    start_date: dt.date | None = None  # on start_day, inclusive
    end_date: dt.date | None = None  # on start_day, inclusive
    district_id: int | None = None
    school_id: int | None = None
    q: str | None = None


def _filter_conditions(filters: EventFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.format is not None:
        conditions.append(Event.format == filters.format)
    if filters.event_type is not None:
        conditions.append(Event.type == filters.event_type)
    if filters.status is not None:
        conditions.append(Event.status == filters.status)
    if filters.start_date is not None:
        conditions.append(Event.start_day >= filters.start_date)
    if filters.end_date is not None:
        conditions.append(Event.start_day <= filters.end_date)
    if filters.district_id is not None:
        conditions.append(event_in_districts([filters.district_id]))
    if filters.school_id is not None:
        conditions.append(Event.school_id == filters.school_id)
    if filters.q:
        conditions.append(
            or_(
                Event.title.icontains(filters.q, autoescape=True),
                Event.location.icontains(filters.q, autoescape=True),
                Event.salesforce_id == filters.q,
            )
        )
    return conditions


def _base_statement() -> Select[Any]:
    return select(Event).options(selectinload(Event.school))


# --------------------------------------------------------------------------------------
# Batched loads for a set of events


async def _districts_by_event(
    session: AsyncSession, events: Sequence[Event]
) -> dict[int, list[EventDistrictRef]]:
    ids = [event.id for event in events]
    pairs: set[tuple[int, int]] = set()
    for event in events:
        if event.school is not None and event.school.district_id is not None:
            pairs.add((event.id, event.school.district_id))
    links = await session.execute(
        select(EventDistrict.event_id, EventDistrict.district_id).where(EventDistrict.event_id.in_(ids))
    )
    pairs.update((int(row[0]), int(row[1])) for row in links.all())
    teacher_districts = await session.execute(
        select(EventTeacher.event_id, School.district_id)
        .join(Teacher, Teacher.id == EventTeacher.teacher_id)
        .join(School, School.id == Teacher.school_id)
        .where(
            EventTeacher.event_id.in_(ids),
            EventTeacher.is_deleted.is_(False),
            School.district_id.is_not(None),
        )
        .distinct()
    )
    pairs.update((row[0], row[1]) for row in teacher_districts.all() if row[1] is not None)
    district_ids = sorted({district_id for _, district_id in pairs})
    districts = {}
    if district_ids:
        rows = await session.execute(
            select(District.id, District.name, District.slug).where(District.id.in_(district_ids))
        )
        districts = {row.id: EventDistrictRef(id=row.id, name=row.name, slug=row.slug) for row in rows}
    by_event: dict[int, list[EventDistrictRef]] = defaultdict(list)
    for event_id, district_id in pairs:
        if district_id in districts:
            by_event[event_id].append(districts[district_id])
    for refs in by_event.values():
        refs.sort(key=lambda ref: (ref.name.casefold(), ref.id))
    return by_event


async def _aggregates_by_event(session: AsyncSession, ids: Sequence[int]) -> dict[int, ParticipantAggregates]:
    attended = EventParticipation.status.in_(sorted(ATTENDED_VOLUNTEER_STATUSES))
    volunteers = {
        row.event_id: row
        for row in await session.execute(
            select(
                EventParticipation.event_id,
                func.count(EventParticipation.id).label("rows"),
                func.count(distinct(case((attended, EventParticipation.volunteer_id)))).label("attended"),
                func.sum(case((attended, EventParticipation.delivery_hours))).label("hours"),
            )
            .where(EventParticipation.event_id.in_(ids), EventParticipation.is_deleted.is_(False))
            .group_by(EventParticipation.event_id)
        )
    }
    students = dict(
        (
            await session.execute(
                select(
                    EventStudentParticipation.event_id,
                    func.count(distinct(EventStudentParticipation.student_id)),
                )
                .where(
                    EventStudentParticipation.event_id.in_(ids),
                    EventStudentParticipation.is_deleted.is_(False),
                    EventStudentParticipation.status.in_(sorted(REACHED_STUDENT_STATUSES)),
                )
                .group_by(EventStudentParticipation.event_id)
            )
        ).all()
    )
    teachers = {
        row.event_id: row
        for row in await session.execute(
            select(
                EventTeacher.event_id,
                func.count(EventTeacher.id).label("tagged"),
                func.count(case((EventTeacher.status == ATTENDED_TEACHER_STATUS, EventTeacher.id))).label(
                    "attended"
                ),
            )
            .where(EventTeacher.event_id.in_(ids), EventTeacher.is_deleted.is_(False))
            .group_by(EventTeacher.event_id)
        )
    }
    result = {}
    for event_id in ids:
        volunteer_row = volunteers.get(event_id)
        teacher_row = teachers.get(event_id)
        result[event_id] = ParticipantAggregates(
            volunteer_participations=int(volunteer_row.rows) if volunteer_row else 0,
            volunteers_attended=int(volunteer_row.attended) if volunteer_row else 0,
            volunteer_hours=round(float(volunteer_row.hours or 0), 2) if volunteer_row else 0.0,
            students_reached=int(students.get(event_id, 0)),
            teachers_tagged=int(teacher_row.tagged) if teacher_row else 0,
            teachers_attended=int(teacher_row.attended) if teacher_row else 0,
        )
    return result


def _common_fields(
    event: Event, districts: list[EventDistrictRef], participants: ParticipantAggregates
) -> dict[str, Any]:
    school = event.school
    return {
        "id": event.id,
        "salesforce_id": event.salesforce_id,
        "pathful_session_id": event.pathful_session_id,
        "source": event.source,
        "title": event.title,
        "type": event.type,
        "status": event.status,
        "format": event.format,
        "start_day": event.start_day,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "duration": event.duration,
        "location": event.location,
        "school": (
            EventSchool(id=school.id, name=school.name, district_id=school.district_id)
            if school is not None
            else None
        ),
        "districts": districts,
        "district_partner": event.district_partner,
        "session_host": event.session_host,
        "volunteers_requested": event.volunteers_requested,
        "available_slots": event.available_slots,
        "filled_volunteer_jobs": event.filled_volunteer_jobs,
        "cancellation_reason": event.cancellation_reason,
        "registered_student_count": event.registered_student_count,
        "attended_student_count": event.attended_student_count,
        "career_cluster": event.career_cluster,
        "participants": participants,
    }


def _detail_fields(event: Event) -> dict[str, Any]:
    return {
        "description": event.description,
        "additional_information": event.additional_information,
        "date_time_display": event.date_time_display,
        "registration_link": event.registration_link,
        "cancellation_notes": event.cancellation_notes,
        "attendance_status": event.attendance_status,
        "work_based_learning": event.work_based_learning,
        "series": event.series,
        "skills": sorted((skill.name for skill in event.skills), key=str.casefold),
    }


# --------------------------------------------------------------------------------------
# Reads


async def list_events(
    session: AsyncSession, principal: Principal, filters: EventFilters, params: PageParams
) -> EventPage:
    """Events newest first (start day descending, unknown days last, then id)."""
    await require_readable_school(session, principal, filters.school_id)
    conditions = [*readable_events(principal), *_filter_conditions(filters)]
    total = (await session.execute(select(func.count(Event.id)).where(*conditions))).scalar_one()
    events: Sequence[Event] = (
        (
            await session.execute(
                _base_statement()
                .where(*conditions)
                .order_by(Event.start_day.desc().nulls_last(), Event.id)
                .limit(params.page_size)
                .offset(params.offset)
            )
        )
        .scalars()
        .all()
    )
    districts = await _districts_by_event(session, events)
    aggregates = await _aggregates_by_event(session, [event.id for event in events])
    global_view = principal.visible_district_ids() is None
    items: list[Any] = []
    for event in events:
        fields = _common_fields(event, districts.get(event.id, []), aggregates[event.id])
        if global_view:
            items.append(
                EventListItem(
                    **fields, publish_status=event.publish_status, display_on_website=event.display_on_website
                )
            )
        else:
            items.append(DistrictEventListItem(**fields))
    return EventPage(items=items, page=params.page, page_size=params.page_size, total=total)


async def _volunteers(session: AsyncSession, event_id: int) -> list[VolunteerParticipant]:
    rows = await session.execute(
        select(EventParticipation, Volunteer)
        .join(Volunteer, Volunteer.id == EventParticipation.volunteer_id)
        .where(EventParticipation.event_id == event_id, EventParticipation.is_deleted.is_(False))
        .order_by(
            EventParticipation.participant_type,
            func.lower(Volunteer.last_name),
            func.lower(func.coalesce(Volunteer.first_name, "")),
            EventParticipation.id,
        )
    )
    return [
        VolunteerParticipant(
            participation_id=participation.id,
            volunteer_id=volunteer.id,
            first_name=volunteer.first_name,
            last_name=volunteer.last_name,
            email=volunteer.email_normalized,
            participant_type=participation.participant_type,
            status=participation.status,
            attended=participation.status in ATTENDED_VOLUNTEER_STATUSES,
            delivery_hours=participation.delivery_hours,
            title=participation.title,
            source=participation.source,
        )
        for participation, volunteer in rows
    ]


async def _teachers(session: AsyncSession, event_id: int) -> list[TeacherParticipant]:
    rows = await session.execute(
        select(EventTeacher, Teacher)
        .join(Teacher, Teacher.id == EventTeacher.teacher_id)
        .where(EventTeacher.event_id == event_id, EventTeacher.is_deleted.is_(False))
        .order_by(
            func.lower(Teacher.last_name), func.lower(func.coalesce(Teacher.first_name, "")), EventTeacher.id
        )
    )
    return [
        TeacherParticipant(
            teacher_id=teacher.id,
            first_name=teacher.first_name,
            last_name=teacher.last_name,
            school_id=teacher.school_id,
            status=link.status,
            attendance_confirmed_at=link.attendance_confirmed_at,
        )
        for link, teacher in rows
    ]


async def get_event(session: AsyncSession, principal: Principal, event_id: int) -> Any:
    """One event; 404 when it does not exist, is deleted, or is outside a district caller's scope."""
    event: Event | None = (
        await session.execute(
            _base_statement()
            .options(selectinload(Event.skills))
            .where(Event.id == event_id, and_(*readable_events(principal)))
        )
    ).scalar_one_or_none()
    if event is None:
        raise not_found("event")
    districts = await _districts_by_event(session, [event])
    aggregates = await _aggregates_by_event(session, [event.id])
    fields = {
        **_common_fields(event, districts.get(event.id, []), aggregates[event.id]),
        **_detail_fields(event),
    }
    if principal.visible_district_ids() is not None:
        return DistrictEventDetail(**fields)
    return EventDetail(
        **fields,
        publish_status=event.publish_status,
        display_on_website=event.display_on_website,
        note=event.note,
        volunteers=await _volunteers(session, event.id),
        teachers=await _teachers(session, event.id),
    )
