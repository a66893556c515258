"""ORM factories for the staff read tests (events, volunteers, organizations).

Districts, schools and events come from ``tests/factories.py``; these add volunteers with their
child rows, participations, students, teacher tags, organizations and communications. Each helper
adds its rows and flushes; the caller commits before calling the API.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.comms import Communication
from polaris_api.models.events import Event, EventParticipation, EventStudentParticipation, EventTeacher
from polaris_api.models.people import (
    Student,
    Teacher,
    Volunteer,
    VolunteerAffiliation,
    VolunteerEmail,
    VolunteerPhone,
    VolunteerSkill,
)
from polaris_api.models.reference import Organization, School, Skill, normalize_name
from tests.factories import sf_id

_counter = itertools.count(1)


async def make_skill(session: AsyncSession, name: str) -> Skill:
    existing = (
        await session.execute(select(Skill).where(Skill.name_normalized == normalize_name(name)))
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    skill = Skill(name=name)
    session.add(skill)
    await session.flush()
    return skill


async def make_volunteer(
    session: AsyncSession,
    first_name: str | None = "Ana",
    last_name: str = "Lopez",
    *,
    email: str | None = None,
    other_emails: Iterable[str] = (),
    phone: str | None = None,
    skills: Iterable[str] = (),
    **fields: Any,
) -> Volunteer:
    """A volunteer with a primary email row (and optional other emails, a phone, skills)."""
    number = next(_counter)
    email = (email or f"volunteer{number}@example.org").strip().lower()
    volunteer = Volunteer(first_name=first_name, last_name=last_name, email_normalized=email, **fields)
    session.add(volunteer)
    await session.flush()
    session.add(
        VolunteerEmail(
            volunteer_id=volunteer.id, email=email, email_normalized=email, kind="personal", is_primary=True
        )
    )
    for other in other_emails:
        session.add(
            VolunteerEmail(
                volunteer_id=volunteer.id, email=other, email_normalized=other.strip().lower(), kind="work"
            )
        )
    if phone:
        session.add(VolunteerPhone(volunteer_id=volunteer.id, number=phone, kind="mobile", is_primary=True))
    for name in skills:
        skill = await make_skill(session, name)
        session.add(VolunteerSkill(volunteer_id=volunteer.id, skill_id=skill.id))
    await session.flush()
    return volunteer


async def make_participation(
    session: AsyncSession,
    volunteer: Volunteer,
    event: Event,
    status: str = "attended",
    *,
    hours: float | None = 2.0,
    participant_type: str = "volunteer",
    **fields: Any,
) -> EventParticipation:
    participation = EventParticipation(
        event_id=event.id,
        volunteer_id=volunteer.id,
        status=status,
        delivery_hours=hours,
        participant_type=participant_type,
        source="salesforce",
        **fields,
    )
    session.add(participation)
    await session.flush()
    return participation


async def make_organization(session: AsyncSession, name: str, **fields: Any) -> Organization:
    organization = Organization(name=name, salesforce_id=sf_id("001"), **fields)
    session.add(organization)
    await session.flush()
    return organization


async def affiliate(
    session: AsyncSession, volunteer: Volunteer, organization: Organization, **fields: Any
) -> VolunteerAffiliation:
    affiliation = VolunteerAffiliation(volunteer_id=volunteer.id, organization_id=organization.id, **fields)
    session.add(affiliation)
    await session.flush()
    return affiliation


async def make_student_attendance(
    session: AsyncSession, event: Event, status: str = "attended", **fields: Any
) -> EventStudentParticipation:
    student = Student(first_name="Sam", last_name=f"Student{next(_counter)}", student_id=f"S{next(_counter)}")
    session.add(student)
    await session.flush()
    row = EventStudentParticipation(event_id=event.id, student_id=student.id, status=status, **fields)
    session.add(row)
    await session.flush()
    return row


async def tag_teacher(
    session: AsyncSession,
    event: Event,
    *,
    school: School | None = None,
    status: str = "attended",
    first_name: str = "Maria",
    last_name: str = "Delgado",
) -> EventTeacher:
    teacher = Teacher(
        first_name=first_name,
        last_name=last_name,
        email_normalized=f"teacher{next(_counter)}@school.example",
        school_id=school.id if school else None,
    )
    session.add(teacher)
    await session.flush()
    link = EventTeacher(event_id=event.id, teacher_id=teacher.id, status=status)
    session.add(link)
    await session.flush()
    return link


async def make_communication(
    session: AsyncSession, volunteer: Volunteer, occurred_at: dt.datetime, **fields: Any
) -> Communication:
    values: dict[str, Any] = {
        "salesforce_activity_id": sf_id("00T"),
        "kind": "email",
        "direction": "outbound",
        "subject": f"Thanks for volunteering #{next(_counter)}",
        "snippet": "Thank you for speaking with our students.",
        "occurred_at": occurred_at,
        "occurred_on": occurred_at.date(),
        "volunteer_id": volunteer.id,
        "match_status": "matched_volunteer",
        "match_method": "sf_contact_id",
    }
    values.update(fields)
    row = Communication(**values)
    session.add(row)
    await session.flush()
    return row
