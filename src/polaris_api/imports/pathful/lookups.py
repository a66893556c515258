"""Everything the Pathful import matches against, loaded in bulk before the first row (PF-22, SCALE-2).

A handful of set-based queries per import, none per row: all teachers (with their email rows, the
emails of the roster records linked to them, their school keys), all volunteers (with their email
rows), and the events, event_teacher rows, presenter rows and unmatched records of the sessions
named in the file. The planner keeps these structures current as it plans writes, so a repeated
pair in one file is judged against the state its earlier row left (PF-15).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventParticipation, EventTeacher
from polaris_api.models.imports import PathfulUnmatchedRecord
from polaris_api.models.people import Teacher, TeacherEmail, Volunteer, VolunteerEmail
from polaris_api.models.reference import School
from polaris_api.models.teachers import TeacherProgress
from polaris_api.schemas.common import normalize_email
from polaris_api.schemas.pathful import norm_name, school_key

CHUNK = 500
EVENT_FIELDS = (
    "title",
    "start_day",
    "start_date",
    "end_date",
    "duration",
    "status",
    "registered_student_count",
    "attended_student_count",
    "attended_educator_count",
    "career_cluster",
    "work_based_learning",
    "series",
    "district_partner",
)


@dataclass
class TeacherInfo:
    id: int
    name: str  # "first last" as stored (for candidate lists)
    pathful_user_id: str | None
    school_keys: frozenset[str]
    school_name: str | None


@dataclass
class VolunteerInfo:
    id: int
    name: str
    pathful_user_id: str | None
    first_key: str
    last_key: str


@dataclass
class EventState:
    id: int | None  # None until inserted (new events)
    session_id: str
    salesforce_id: str | None
    values: dict[str, Any]
    is_new: bool = False


@dataclass
class TeacherLink:
    id: int | None
    status: str
    attendance_confirmed_at: dt.datetime | None
    notes: str | None
    source: str
    pending: dict[str, Any] | None = None  # the planned insert of a link created by this import


@dataclass
class PresenterLink:
    id: int | None
    status: str
    delivery_hours: float | None
    source: str
    salesforce_id: str | None
    pending: dict[str, Any] | None = None


@dataclass
class UnmatchedState:
    id: int | None
    type: str
    session_id: str
    match_key: str
    status: str
    resolved_teacher_id: int | None
    resolved_volunteer_id: int | None


@dataclass
class Lookups:
    teachers: dict[int, TeacherInfo] = field(default_factory=dict)
    teacher_by_pid: dict[str, int] = field(default_factory=dict)
    teacher_ids_by_email: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    teachers_by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    merged_into: dict[int, int] = field(default_factory=dict)
    volunteers: dict[int, VolunteerInfo] = field(default_factory=dict)
    volunteer_by_pid: dict[str, int] = field(default_factory=dict)
    volunteer_ids_by_email: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    volunteers_by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    volunteers_by_last: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    events: dict[str, EventState] = field(default_factory=dict)  # by pathful_session_id
    teacher_links: dict[tuple[str, int], TeacherLink] = field(default_factory=dict)
    presenter_links: dict[tuple[str, int], PresenterLink] = field(default_factory=dict)
    unmatched: dict[tuple[str, str, str], UnmatchedState] = field(default_factory=dict)

    def survivor(self, teacher_id: int) -> int:
        """Follow ``merged_into_id`` to the teacher that absorbed this one."""
        seen = set()
        while teacher_id in self.merged_into and teacher_id not in seen:
            seen.add(teacher_id)
            teacher_id = self.merged_into[teacher_id]
        return teacher_id


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _full_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part)


async def load_teachers(session: AsyncSession, lookups: Lookups) -> None:
    schools = {
        row.id: (row.normalized_name or school_key(row.name), row.name)
        for row in (await session.execute(select(School.id, School.name, School.normalized_name))).all()
    }
    buildings: dict[int, set[str]] = defaultdict(set)
    progress_rows = (
        await session.execute(
            select(TeacherProgress.teacher_id, TeacherProgress.email, TeacherProgress.building).where(
                TeacherProgress.teacher_id.is_not(None)
            )
        )
    ).all()
    rows = (
        await session.execute(
            select(
                Teacher.id,
                Teacher.first_name,
                Teacher.last_name,
                Teacher.pathful_user_id,
                Teacher.email_normalized,
                Teacher.school_id,
                Teacher.merged_into_id,
            )
        )
    ).all()
    for progress in progress_rows:
        key = school_key(progress.building)
        if key:
            buildings[progress.teacher_id].add(key)
    for row in rows:
        if row.merged_into_id is not None and row.merged_into_id != row.id:
            lookups.merged_into[row.id] = row.merged_into_id
            if row.pathful_user_id:
                lookups.teacher_by_pid.setdefault(row.pathful_user_id, row.id)
            continue
        school = schools.get(row.school_id) if row.school_id else None
        keys = set(buildings.get(row.id, ()))
        if school and school[0]:
            keys.add(school[0])
        name = _full_name(row.first_name, row.last_name)
        lookups.teachers[row.id] = TeacherInfo(
            id=row.id,
            name=name,
            pathful_user_id=row.pathful_user_id,
            school_keys=frozenset(keys),
            school_name=school[1] if school else None,
        )
        if row.pathful_user_id:
            lookups.teacher_by_pid[row.pathful_user_id] = row.id
        if row.email_normalized:
            lookups.teacher_ids_by_email[normalize_email(row.email_normalized)].add(row.id)
        key = norm_name(name)
        if key:
            lookups.teachers_by_name[key].append(row.id)
    for teacher_id, email in (
        await session.execute(select(TeacherEmail.teacher_id, TeacherEmail.email_normalized))
    ).all():
        lookups.teacher_ids_by_email[normalize_email(email)].add(lookups.survivor(teacher_id))
    for progress in progress_rows:
        if progress.email:
            lookups.teacher_ids_by_email[normalize_email(progress.email)].add(
                lookups.survivor(progress.teacher_id)
            )


async def load_volunteers(session: AsyncSession, lookups: Lookups) -> None:
    rows = (
        await session.execute(
            select(
                Volunteer.id,
                Volunteer.first_name,
                Volunteer.last_name,
                Volunteer.pathful_user_id,
                Volunteer.email_normalized,
            )
        )
    ).all()
    for row in rows:
        name = _full_name(row.first_name, row.last_name)
        first_key = norm_name(row.first_name) or ""
        last_key = norm_name(row.last_name) or ""
        lookups.volunteers[row.id] = VolunteerInfo(
            id=row.id,
            name=name,
            pathful_user_id=row.pathful_user_id,
            first_key=first_key,
            last_key=last_key,
        )
        if row.pathful_user_id:
            lookups.volunteer_by_pid[row.pathful_user_id] = row.id
        if row.email_normalized:
            lookups.volunteer_ids_by_email[normalize_email(row.email_normalized)].add(row.id)
        key = norm_name(name)
        if key:
            lookups.volunteers_by_name[key].append(row.id)
        if last_key:
            lookups.volunteers_by_last[last_key].append(row.id)
    for volunteer_id, email in (
        await session.execute(select(VolunteerEmail.volunteer_id, VolunteerEmail.email_normalized))
    ).all():
        lookups.volunteer_ids_by_email[normalize_email(email)].add(volunteer_id)


async def load_sessions(session: AsyncSession, lookups: Lookups, session_ids: Sequence[str]) -> None:
    """Events, teacher links, presenter rows and unmatched records of these Pathful sessions."""
    columns = [getattr(Event, name) for name in EVENT_FIELDS]
    by_event_id: dict[int, str] = {}
    for chunk in _chunks(list(session_ids)):
        for row in (
            await session.execute(
                select(Event.id, Event.pathful_session_id, Event.salesforce_id, *columns).where(
                    Event.pathful_session_id.in_(chunk)
                )
            )
        ).all():
            mapping = row._mapping
            lookups.events[row.pathful_session_id] = EventState(
                id=row.id,
                session_id=row.pathful_session_id,
                salesforce_id=row.salesforce_id,
                values={name: mapping[name] for name in EVENT_FIELDS},
            )
            by_event_id[row.id] = row.pathful_session_id
        for record in (
            await session.execute(
                select(
                    PathfulUnmatchedRecord.id,
                    PathfulUnmatchedRecord.type,
                    PathfulUnmatchedRecord.session_id,
                    PathfulUnmatchedRecord.match_key,
                    PathfulUnmatchedRecord.status,
                    PathfulUnmatchedRecord.resolved_teacher_id,
                    PathfulUnmatchedRecord.resolved_volunteer_id,
                ).where(PathfulUnmatchedRecord.session_id.in_(chunk))
            )
        ).all():
            lookups.unmatched[(record.type, record.session_id, record.match_key)] = UnmatchedState(
                id=record.id,
                type=record.type,
                session_id=record.session_id,
                match_key=record.match_key,
                status=record.status,
                resolved_teacher_id=record.resolved_teacher_id,
                resolved_volunteer_id=record.resolved_volunteer_id,
            )
    event_ids = list(by_event_id)
    for chunk in _chunks(event_ids):
        for link in (
            await session.execute(
                select(
                    EventTeacher.id,
                    EventTeacher.event_id,
                    EventTeacher.teacher_id,
                    EventTeacher.status,
                    EventTeacher.attendance_confirmed_at,
                    EventTeacher.notes,
                    EventTeacher.source,
                ).where(EventTeacher.event_id.in_(chunk))
            )
        ).all():
            lookups.teacher_links[(by_event_id[link.event_id], link.teacher_id)] = TeacherLink(
                id=link.id,
                status=link.status,
                attendance_confirmed_at=link.attendance_confirmed_at,
                notes=link.notes,
                source=link.source,
            )
        for part in (
            await session.execute(
                select(
                    EventParticipation.id,
                    EventParticipation.event_id,
                    EventParticipation.volunteer_id,
                    EventParticipation.status,
                    EventParticipation.delivery_hours,
                    EventParticipation.source,
                    EventParticipation.salesforce_id,
                ).where(
                    EventParticipation.event_id.in_(chunk),
                    EventParticipation.participant_type == "presenter",
                )
            )
        ).all():
            lookups.presenter_links[(by_event_id[part.event_id], part.volunteer_id)] = PresenterLink(
                id=part.id,
                status=part.status,
                delivery_hours=part.delivery_hours,
                source=part.source,
                salesforce_id=part.salesforce_id,
            )


async def load_lookups(
    session: AsyncSession, session_ids: Sequence[str], *, teachers: bool = True, volunteers: bool = True
) -> Lookups:
    lookups = Lookups()
    if teachers:
        await load_teachers(session, lookups)
    if volunteers:
        await load_volunteers(session, lookups)
    await load_sessions(session, lookups, session_ids)
    return lookups
