"""Hypothesis strategies for the metrics differential test (06 §2-§4, §6.4), and the code that
writes a generated data set into the real database through the ORM models.

The data sets are small (a few districts and schools, 0-12 events) and aim at the edges the spec
names: events at Chicago midnight on both window edges, 22:30 Chicago on the last day (the next
UTC day), both DST changes of 2024 (including both instants of the repeated 01:30 on 2024-11-03),
the same person under emails differing in case or spaces, blank school-issued ids, soft-deleted
and excluded rows, cancelled events, multi-district events (links, district_partner names that
are ambiguous or match a deleted district, the school fallback), missing attribution, virtual by
format or by type, delivery_hours NULL / negative / 0, durations NULL / 0, end before start,
presenters with local / people-of-colour flags and attendance details for M110.

Stored codes are what the database legitimately holds (08 VOC-1: lowercase snake_case); emails
are stored normalised (06 §1: ``email_normalized`` = lower(trim(email)), unique on volunteers,
00 R2). Ids are explicit so that a data set's rows can be compared with the oracle by id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from polaris_api.db import make_sessionmaker
from polaris_api.models.app_setting import bump_reporting_data_version
from polaris_api.models.events import (
    Event,
    EventAttendanceDetail,
    EventDistrict,
    EventParticipation,
    EventStudentParticipation,
    EventTeacher,
)
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from tests import metrics_oracle as o

UTC = dt.UTC


def chicago(day: str, time: str, fold: int = 0) -> dt.datetime:
    """A Chicago wall-clock time as an aware UTC instant (``fold=1``: the second 01:30 on the
    day DST ends)."""
    local = dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=o.CHICAGO, fold=fold)
    return local.astimezone(UTC)


# Instants around the windows below: DST start 2024-03-10 (02:00 CST -> 03:00 CDT), DST end
# 2024-11-03 (02:00 CDT -> 01:00 CST), the 06 §9 month (2024-09), the school years 2324 / 2425.
INSTANTS: list[dt.datetime] = [
    chicago("2024-09-12", "09:00"),
    chicago("2024-09-20", "13:00"),
    chicago("2024-10-15", "10:00"),
    chicago("2024-03-09", "23:59"),
    chicago("2024-03-10", "00:00"),
    chicago("2024-03-10", "01:30"),
    chicago("2024-03-10", "03:00"),  # first CDT hour
    chicago("2024-03-10", "22:30"),  # 2024-03-11 03:30Z
    chicago("2024-03-11", "00:00"),
    chicago("2024-07-31", "22:30"),  # 2024-08-01 03:30Z, still school year 2324
    chicago("2024-08-01", "00:00"),
    chicago("2024-08-31", "23:30"),
    chicago("2024-09-01", "00:00"),
    chicago("2024-09-30", "22:30"),  # 2024-10-01 03:30Z (06 §9 E6)
    chicago("2024-10-01", "00:00"),
    chicago("2024-11-02", "23:30"),
    chicago("2024-11-03", "00:00"),
    chicago("2024-11-03", "01:30"),  # CDT
    chicago("2024-11-03", "01:30", fold=1),  # CST, one hour later
    chicago("2024-11-03", "23:30"),  # 2024-11-04 05:30Z
    chicago("2024-11-04", "00:00"),
    chicago("2025-07-31", "22:30"),
    chicago("2025-08-01", "00:00"),
    chicago("2023-05-01", "10:00"),  # history only (M92)
    chicago("2023-07-31", "23:30"),
]

WINDOWS: list[tuple[dt.date, dt.date]] = [
    (dt.date(2024, 3, 10), dt.date(2024, 11, 3)),
    (dt.date(2024, 3, 11), dt.date(2024, 11, 2)),
    (dt.date(2024, 11, 3), dt.date(2024, 11, 3)),
    (dt.date(2024, 3, 10), dt.date(2024, 3, 10)),
    (dt.date(2024, 9, 1), dt.date(2024, 9, 30)),
    (dt.date(2024, 8, 1), dt.date(2025, 7, 31)),
]

SCHOOL_YEARS = ["2324", "2425"]

DISTRICT_NAMES = ["Alpha", "alpha ", "Beta", "Gamma"]
SCHOOL_NAMES = ["North High", "South Middle", "North High", "East Elementary"]
LEVELS = [None, "high", "middle", "elementary"]
EVENT_TYPES = ["career_speaker", "career_fair", "virtual_session", "connector_session", "math_relays", None]
EVENT_FORMATS = ["in_person", "virtual", "unknown"]
EVENT_STATUSES = ["completed", "completed", "completed", "simulcast", "confirmed", "cancelled", "draft", None]
PARTNERS = [None, "alpha", " ALPHA ", "Beta", "gamma", "Nowhere", ""]
HOSTS = [None, "", "PREPKC", "prepkc virtual", "Pathful"]
VOLUNTEER_EMAILS = [None, "ana@acme.org", " Ana@Acme.org", "ben@beta.org", "cara@example.com", "dan@x.org"]
TEACHER_EMAILS = [None, "t1@school.org", "T1@School.org ", "t2@school.org", "t3@school.org"]
STUDENT_IDS = [None, "", "  ", "1001", " 1001", "1002", "1003"]
ORGS = [None, "", "  ", "Acme", "ACME", " Acme ", "Beta"]
LOCAL = ["local", "partial", "non_local", "unknown"]
VOL_STATUSES = [
    *["attended"] * 3,
    "completed",
    "successfully_completed",
    "no_show",
    "registered",
    "cancelled",
    "other",
]
STU_STATUSES = ["attended", "attended", "attended", "no_show", "registered", "other", None]
TCH_STATUSES = ["registered", "attended", "no_show", "cancelled"]
HOURS = [None, None, -1.0, 0.0, 0.5, 1.25, 2.5]
DURATIONS = [None, None, 0, 45, 60, 90]
END_OFFSETS = [None, None, -30, 0, 20, 45, 150]  # minutes after start
CONFIRMED_AT = dt.datetime(2024, 12, 1, 12, 0, tzinfo=UTC)
# hypothesis favours the first element of sampled_from: the common value goes first
RARELY = st.sampled_from([False, False, False, False, False, True])


def normalise_email(raw: str | None) -> str | None:
    """06 §1: lower(trim(email)), NULL when blank."""
    value = (raw or "").strip().lower()
    return value or None


def _unique_rows(rows: list[Any], key: Any) -> list[Any]:
    seen, kept = set(), []
    for row in rows:
        if key(row) not in seen:
            seen.add(key(row))
            kept.append(row)
    return kept


@st.composite
def datasets(draw: st.DrawFn) -> o.DataSet:
    """A small data set; ids start at 1 in every table."""
    n_districts = draw(st.integers(1, 4))
    districts = [
        o.District(i, draw(st.sampled_from(DISTRICT_NAMES)), i > 1 and draw(st.booleans()))
        for i in range(1, n_districts + 1)
    ]
    n_schools = draw(st.integers(1, 4))
    schools = [
        o.School(
            i,
            draw(st.sampled_from(SCHOOL_NAMES)),
            draw(st.sampled_from([*range(1, n_districts + 1), *range(1, n_districts + 1), None])),
            draw(st.sampled_from(LEVELS)),
            draw(RARELY),
        )
        for i in range(1, n_schools + 1)
    ]
    live_schools = [s.id for s in schools if not s.is_deleted]

    events = []
    for i in range(1, draw(st.integers(2, 12)) + 1):
        start = draw(st.sampled_from([*INSTANTS, None]))  # a NULL start is in no window
        end_offset = None if start is None else draw(st.sampled_from(END_OFFSETS))
        events.append(
            o.Event(
                id=i,
                title=f"Event {i}",
                type=draw(st.sampled_from(EVENT_TYPES)),
                format=draw(st.sampled_from(EVENT_FORMATS)),
                status=draw(st.sampled_from(EVENT_STATUSES)),
                start_date=start,
                end_date=None
                if start is None or end_offset is None
                else start + dt.timedelta(minutes=end_offset),
                duration=draw(st.sampled_from(DURATIONS)),
                school_id=draw(st.one_of(st.none(), st.integers(1, n_schools))) if n_schools else None,
                district_partner=draw(st.sampled_from(PARTNERS)),
                session_host=draw(st.sampled_from(HOSTS)),
                is_deleted=draw(RARELY),
                district_ids=tuple(
                    sorted(
                        draw(
                            st.lists(
                                st.integers(1, n_districts),
                                min_size=min(draw(st.sampled_from([0, 0, 1, 2])), n_districts),
                                max_size=2,
                                unique=True,
                            )
                        )
                    )
                ),
            )
        )
    n_events = len(events)

    volunteers = _unique_rows(
        [
            o.Volunteer(
                id=0,
                email_normalized=normalise_email(draw(st.sampled_from(VOLUNTEER_EMAILS))),
                organization_name=draw(st.sampled_from(ORGS)),
                is_people_of_color=draw(st.sampled_from([None, True, False])),
                local_status=draw(st.sampled_from(LOCAL)),
                exclude_from_reports=draw(RARELY),
                is_deleted=draw(RARELY),
            )
            for _ in range(draw(st.integers(1, 6)))
        ],
        # 00 R2: one volunteer per normalised email (a NULL email stands alone)
        key=lambda v: v.email_normalized or object(),
    )
    volunteers = (
        [dataclasses.replace(v, id=i) for i, v in enumerate(volunteers, start=1)] if volunteers else []
    )
    teachers = [
        o.Teacher(
            id=i,
            email_normalized=normalise_email(draw(st.sampled_from(TEACHER_EMAILS))),
            # a teacher's school is a live one (06 §6.2 joins it without a deletion test)
            school_id=draw(st.sampled_from([*live_schools, *live_schools, None])) if live_schools else None,
            exclude_from_reports=draw(RARELY),
            is_deleted=draw(RARELY),
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]
    students = [
        o.Student(
            id=i,
            student_id=draw(st.sampled_from(STUDENT_IDS)),
            exclude_from_reports=draw(RARELY),
            is_deleted=draw(RARELY),
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]

    def pick(count: int) -> st.SearchStrategy[int]:
        return st.integers(1, max(count, 1))

    # students mostly on in-person events, teachers mostly on virtual ones (the rows that count),
    # every event still possible
    in_person_ids = [e.id for e in events if not o.is_virtual(e)] or [1]
    virtual_ids = [e.id for e in events if o.is_virtual(e)] or [1]
    student_event = st.one_of(st.sampled_from(in_person_ids), st.sampled_from(in_person_ids), pick(n_events))
    volunteer_event = st.one_of(pick(n_events), st.sampled_from(virtual_ids))
    teacher_event = st.one_of(st.sampled_from(virtual_ids), st.sampled_from(virtual_ids), pick(n_events))

    vol_parts: list[o.VolunteerParticipation] = []
    stu_parts: list[o.StudentParticipation] = []
    tch_parts: list[o.TeacherParticipation] = []
    details: list[o.AttendanceDetail] = []
    if n_events and volunteers:
        vol_parts = _unique_rows(
            [
                o.VolunteerParticipation(
                    event_id=draw(volunteer_event),
                    volunteer_id=draw(pick(len(volunteers))),
                    status=draw(st.sampled_from(VOL_STATUSES)),
                    delivery_hours=draw(st.sampled_from(HOURS)),
                    participant_type=draw(st.sampled_from(["volunteer", "presenter"])),
                    is_deleted=draw(RARELY),
                )
                for _ in range(draw(st.integers(2, 16)))
            ],
            key=lambda p: (p.event_id, p.volunteer_id, p.participant_type),
        )
    if n_events and students:
        stu_parts = _unique_rows(
            [
                o.StudentParticipation(
                    event_id=draw(student_event),
                    student_id=draw(pick(len(students))),
                    status=draw(st.sampled_from(STU_STATUSES)),
                    is_deleted=draw(RARELY),
                )
                for _ in range(draw(st.integers(1, 12)))
            ],
            key=lambda p: (p.event_id, p.student_id),
        )
    if n_events and teachers:
        tch_parts = _unique_rows(
            [
                o.TeacherParticipation(
                    event_id=draw(teacher_event),
                    teacher_id=draw(pick(len(teachers))),
                    status=draw(st.sampled_from(TCH_STATUSES)),
                    attendance_confirmed_at=draw(st.sampled_from([CONFIRMED_AT, CONFIRMED_AT, None])),
                    is_deleted=draw(RARELY),
                )
                for _ in range(draw(st.integers(2, 12)))
            ],
            key=lambda p: (p.event_id, p.teacher_id),
        )
    for e in events:
        if draw(st.integers(0, 2)) == 0:
            details.append(
                o.AttendanceDetail(
                    e.id,
                    draw(st.sampled_from([None, 0, 7, 50, 100])),
                    draw(st.sampled_from([None, 0, 3, 4])),
                    draw(st.sampled_from([None, 0, 1, 2, 3])),
                )
            )
    return o.DataSet(
        districts=districts,
        schools=schools,
        events=events,
        volunteers=volunteers,
        teachers=teachers,
        students=students,
        volunteer_participations=vol_parts,
        student_participations=stu_parts,
        teacher_participations=tch_parts,
        attendance_details=details,
    )


# the wide windows (most instants inside) drawn more often than the one-day DST windows
windows = st.sampled_from([WINDOWS[0], WINDOWS[0], WINDOWS[1], WINDOWS[5], WINDOWS[5], *WINDOWS])


# --------------------------------------------------------------------------------------
# Database side

REPORTING_MODELS: list[Any] = [
    EventAttendanceDetail,
    EventTeacher,
    EventStudentParticipation,
    EventParticipation,
    EventDistrict,
    Event,
    Volunteer,
    Teacher,
    Student,
    School,
    District,
]


async def clear(engine: AsyncEngine | AsyncConnection) -> None:
    """Empty the reporting tables (children first): the ``db`` fixture empties tables once per
    test, hypothesis runs many examples inside one test."""
    async with make_sessionmaker(engine)() as session:
        for model in REPORTING_MODELS:
            await session.execute(delete(model))
        await session.commit()


async def insert(engine: AsyncEngine | AsyncConnection, data: o.DataSet) -> None:
    """Write a data set with its own ids through the ORM models, in one transaction that also
    bumps the 06 P4 reporting data version (a cache must not serve the previous example)."""
    async with make_sessionmaker(engine)() as session:
        session.add_all(
            District(id=d.id, name=d.name, slug=f"oracle-d{d.id}", is_deleted=d.is_deleted)
            for d in data.districts
        )
        await session.flush()
        session.add_all(
            School(id=s.id, name=s.name, district_id=s.district_id, level=s.level, is_deleted=s.is_deleted)
            for s in data.schools
        )
        await session.flush()
        for e in data.events:
            session.add(
                Event(
                    id=e.id,
                    title=e.title,
                    type=e.type,
                    format=e.format,
                    status=e.status,
                    start_date=e.start_date,
                    start_day=None if e.start_date is None else o.chicago_date(e.start_date),
                    end_date=e.end_date,
                    duration=e.duration,
                    school_id=e.school_id,
                    district_partner=e.district_partner,
                    session_host=e.session_host,
                    is_deleted=e.is_deleted,
                    source="salesforce",
                )
            )
        await session.flush()
        session.add_all(
            EventDistrict(event_id=e.id, district_id=d) for e in data.events for d in e.district_ids
        )
        session.add_all(
            Volunteer(
                id=v.id,
                last_name=f"Volunteer{v.id}",
                email_normalized=v.email_normalized,
                organization_name=v.organization_name,
                is_people_of_color=v.is_people_of_color,
                local_status=v.local_status,
                exclude_from_reports=v.exclude_from_reports,
                is_deleted=v.is_deleted,
            )
            for v in data.volunteers
        )
        session.add_all(
            Teacher(
                id=t.id,
                last_name=f"Teacher{t.id}",
                email_normalized=t.email_normalized,
                school_id=t.school_id,
                exclude_from_reports=t.exclude_from_reports,
                is_deleted=t.is_deleted,
            )
            for t in data.teachers
        )
        session.add_all(
            Student(
                id=s.id,
                last_name=f"Student{s.id}",
                student_id=s.student_id,
                exclude_from_reports=s.exclude_from_reports,
                is_deleted=s.is_deleted,
            )
            for s in data.students
        )
        await session.flush()
        session.add_all(
            EventParticipation(
                event_id=p.event_id,
                volunteer_id=p.volunteer_id,
                status=p.status,
                delivery_hours=p.delivery_hours,
                participant_type=p.participant_type,
                is_deleted=p.is_deleted,
            )
            for p in data.volunteer_participations
        )
        session.add_all(
            EventStudentParticipation(
                event_id=p.event_id, student_id=p.student_id, status=p.status, is_deleted=p.is_deleted
            )
            for p in data.student_participations
        )
        session.add_all(
            EventTeacher(
                event_id=p.event_id,
                teacher_id=p.teacher_id,
                status=p.status,
                attendance_confirmed_at=p.attendance_confirmed_at,
                is_deleted=p.is_deleted,
            )
            for p in data.teacher_participations
        )
        session.add_all(
            EventAttendanceDetail(
                event_id=a.event_id,
                total_students=a.total_students,
                num_classrooms=a.num_classrooms,
                rotations=a.rotations,
            )
            for a in data.attendance_details
        )
        await bump_reporting_data_version(session)
        await session.commit()
