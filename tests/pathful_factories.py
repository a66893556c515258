"""ORM factories for the Pathful import tests: teachers, volunteers, roster records, Pathful events,
and the existing data of the 04 §2 worked example.

Districts and schools come from :mod:`tests.factories`. Helpers add rows and flush; the caller
commits before calling the API.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventParticipation, EventTeacher
from polaris_api.models.people import Teacher, TeacherEmail, Volunteer
from polaris_api.models.reference import District, School
from polaris_api.models.teachers import TeacherProgress
from tests.factories import make_district, make_school

ZONE = ZoneInfo("America/Chicago")
_counter = itertools.count(1)


async def make_teacher(
    session: AsyncSession,
    first: str | None,
    last: str,
    *,
    pathful_user_id: str | None = None,
    email: str | None = None,
    school: School | None = None,
    district: District | None = None,
    extra_emails: tuple[str, ...] = (),
    **fields: Any,
) -> Teacher:
    teacher = Teacher(
        first_name=first,
        last_name=last,
        pathful_user_id=pathful_user_id,
        email_normalized=email.strip().lower() if email else None,
        school_id=school.id if school else None,
        district_id=district.id if district else None,
        **fields,
    )
    session.add(teacher)
    await session.flush()
    for address in ((email,) if email else ()) + extra_emails:
        session.add(
            TeacherEmail(
                teacher_id=teacher.id,
                email=address,
                email_normalized=address.strip().lower(),
                is_primary=address == email,
            )
        )
    await session.flush()
    return teacher


async def make_volunteer(
    session: AsyncSession,
    first: str | None,
    last: str,
    *,
    pathful_user_id: str | None = None,
    email: str | None = None,
    **fields: Any,
) -> Volunteer:
    volunteer = Volunteer(
        first_name=first,
        last_name=last,
        pathful_user_id=pathful_user_id,
        email_normalized=email.strip().lower() if email else None,
        **fields,
    )
    session.add(volunteer)
    await session.flush()
    return volunteer


async def make_progress(
    session: AsyncSession,
    teacher: Teacher | None,
    district: District,
    *,
    email: str | None = None,
    academic_year: str = "2025-2026",
    target_sessions: int = 1,
    name: str | None = None,
    **fields: Any,
) -> TeacherProgress:
    email = email or f"teacher{next(_counter)}@schools.example"
    progress = TeacherProgress(
        district_id=district.id,
        academic_year=academic_year,
        virtual_year=academic_year,
        email=email.strip().lower(),
        name=name or (f"{teacher.first_name} {teacher.last_name}" if teacher else "Roster Teacher"),
        teacher_id=teacher.id if teacher else None,
        target_sessions=target_sessions,
        **fields,
    )
    session.add(progress)
    await session.flush()
    return progress


def local(day: str, time: str = "00:00") -> dt.datetime:
    """A local (America/Chicago) wall time as aware UTC."""
    naive = dt.datetime.fromisoformat(f"{day} {time}")
    return naive.replace(tzinfo=ZONE).astimezone(dt.UTC)


async def make_pathful_event(
    session: AsyncSession, session_id: str, *, start: dt.datetime, duration: int = 60, **fields: Any
) -> Event:
    values: dict[str, Any] = {
        "title": f"Session {session_id}",
        "type": "virtual_session",
        "format": "virtual",
        "source": "pathful",
        "status": "completed",
        "pathful_session_id": session_id,
        "start_date": start,
        "start_day": start.astimezone(ZONE).date(),
        "end_date": start + dt.timedelta(minutes=duration),
        "duration": duration,
        "registered_student_count": 0,
        "attended_student_count": 0,
    }
    values.update(fields)
    event = Event(**values)
    session.add(event)
    await session.flush()
    return event


@dataclass
class Ref:
    """A seeded row by id (ORM objects expire when the test session rolls back)."""

    id: int


@dataclass
class WorkedExample:
    """04 §2 existing data, by the spec's references (ids only)."""

    riverbend: Ref
    metro: Ref
    t1: Ref
    t2: Ref
    t3: Ref
    t4: Ref
    t4b: Ref
    t5: Ref
    v1: Ref
    manual_presenter: Ref
    event_51990: Ref
    t5_link: Ref
    progress: dict[str, Ref]


async def seed_worked_example(session: AsyncSession) -> WorkedExample:
    riverbend = await make_district(session, "Riverbend USD")
    metro = await make_district(session, "Metro Central Schools")
    northgate = await make_school(session, "Northgate Elementary", district=riverbend)
    westport = await make_school(session, "Westport High School", district=riverbend)
    riverview = await make_school(session, "Riverview Elementary", district=riverbend)
    lincoln = await make_school(session, "Lincoln Prep Academy", district=metro)

    t1 = await make_teacher(session, "Maria", "Delgado", pathful_user_id="2203341", school=riverview)
    t2 = await make_teacher(
        session, "Andre", "Wallace", email="andre.wallace@riverbend.example", school=westport
    )
    t3 = await make_teacher(session, "Samuel", "Okafor", school=lincoln)
    t4 = await make_teacher(session, "Grace", "Lin", school=northgate)
    t4b = await make_teacher(session, "Grace", "Lin", school=westport)
    t5 = await make_teacher(session, "Beth", "Coleman", pathful_user_id="2209876", school=northgate)
    v1 = await make_volunteer(
        session, "Evelyn", "Park", pathful_user_id="2198772", email="evelyn.park@example.org"
    )
    manual_presenter = await make_volunteer(session, "Noah", "Price", email="noah.price@example.org")

    event_51990 = await make_pathful_event(
        session,
        "51990",
        title="Building Your Personal Brand",
        start=local("2026-01-15", "11:00"),
        duration=45,
        status="published",
        registered_student_count=0,
        attended_student_count=0,
        attended_educator_count=None,
        career_cluster="Marketing",
        district_partner="Riverbend USD",
    )
    session.add(
        EventParticipation(
            event_id=event_51990.id,
            volunteer_id=manual_presenter.id,
            participant_type="presenter",
            status="registered",
            source="manual",
        )
    )
    t5_link = EventTeacher(
        event_id=event_51990.id,
        teacher_id=t5.id,
        status="attended",
        attendance_confirmed_at=local("2026-01-16", "09:00"),
        source="pathful",
        notes="Confirmed by the teacher by phone.",
    )
    session.add(t5_link)
    await session.flush()

    progress: dict[str, TeacherProgress] = {}
    for ref, teacher, district, email in (
        ("t1", t1, riverbend, "maria.delgado@riverbend.example"),
        ("t2", t2, riverbend, "andre.wallace@riverbend.example"),
        ("t3", t3, metro, "samuel.okafor@metro.example"),
        ("t4", t4, riverbend, "grace.lin@riverbend.example"),
        ("t5", t5, riverbend, "beth.coleman@riverbend.example"),
    ):
        progress[ref] = await make_progress(session, teacher, district, email=email)
    return WorkedExample(
        riverbend=Ref(riverbend.id),
        metro=Ref(metro.id),
        t1=Ref(t1.id),
        t2=Ref(t2.id),
        t3=Ref(t3.id),
        t4=Ref(t4.id),
        t4b=Ref(t4b.id),
        t5=Ref(t5.id),
        v1=Ref(v1.id),
        manual_presenter=Ref(manual_presenter.id),
        event_51990=Ref(event_51990.id),
        t5_link=Ref(t5_link.id),
        progress={ref: Ref(record.id) for ref, record in progress.items()},
    )
