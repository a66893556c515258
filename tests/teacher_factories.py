"""ORM factories for teacher, roster and progress tests (districts and schools: tests/factories.py).

Each helper adds its rows to the session and flushes; the caller commits before calling the API.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.models.events import Event, EventTeacher
from polaris_api.models.people import Teacher
from polaris_api.models.reference import District, School
from polaris_api.models.teachers import AttendanceOverride, TeacherProgress

ZONE = ZoneInfo("America/Chicago")
ROSTER_HEADERS = (
    "Teacher Email",
    "Teacher Name",
    "School/Building",
    "Grade",
    "Academic Year",
    "Virtual Year",
    "Target Sessions",
)
_counter = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """An America/Chicago wall-clock time as an aware UTC datetime."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(dt.UTC)


async def make_teacher(
    session: AsyncSession,
    first_name: str | None = "Maria",
    last_name: str = "Delgado",
    *,
    email: str | None = None,
    school: School | None = None,
    **fields: Any,
) -> Teacher:
    teacher = Teacher(
        first_name=first_name,
        last_name=last_name,
        email_normalized=email,
        school_id=school.id if school else None,
        **fields,
    )
    session.add(teacher)
    await session.flush()
    return teacher


async def make_virtual_event(
    session: AsyncSession,
    start: dt.datetime | None,
    *,
    title: str | None = None,
    status: str = "completed",
    type: str = "virtual_session",
    format: str = "virtual",
    **fields: Any,
) -> Event:
    event = Event(
        title=title or f"Virtual session {next(_counter)}",
        type=type,
        format=format,
        status=status,
        start_date=start,
        start_day=start.astimezone(ZONE).date() if start else None,
        duration=45,
        source="pathful",
        **fields,
    )
    session.add(event)
    await session.flush()
    return event


async def link_teacher(
    session: AsyncSession,
    event: Event,
    teacher: Teacher,
    status: str = "attended",
    *,
    confirmed: bool | None = None,
    **fields: Any,
) -> EventTeacher:
    """``confirmed`` defaults to ``status == 'attended'`` (PF-14)."""
    if confirmed is None:
        confirmed = status == "attended"
    link = EventTeacher(
        event_id=event.id,
        teacher_id=teacher.id,
        status=status,
        attendance_confirmed_at=dt.datetime(2025, 9, 1, tzinfo=dt.UTC) if confirmed else None,
        source="pathful",
        **fields,
    )
    session.add(link)
    await session.flush()
    return link


async def make_record(
    session: AsyncSession,
    district: District,
    email: str | None = None,
    *,
    name: str = "Maria Delgado",
    teacher: Teacher | None = None,
    academic_year: str = "2025-2026",
    target_sessions: int = 1,
    school: School | None = None,
    building: str | None = None,
    **fields: Any,
) -> TeacherProgress:
    email = email or f"teacher{next(_counter)}@example.org"
    record = TeacherProgress(
        district_id=district.id,
        academic_year=academic_year,
        virtual_year=academic_year,
        email=email,
        name=name,
        building=building if building is not None else (school.name if school else None),
        school_id=school.id if school else None,
        target_sessions=target_sessions,
        teacher_id=teacher.id if teacher else None,
        **fields,
    )
    session.add(record)
    await session.flush()
    return record


async def make_override(
    session: AsyncSession, record: TeacherProgress, event: Event, action: str = "add", **fields: Any
) -> AttendanceOverride:
    override = AttendanceOverride(
        teacher_progress_id=record.id, event_id=event.id, action=action, reason="staff correction", **fields
    )
    session.add(override)
    await session.flush()
    return override


def roster_row(
    email: str,
    name: str,
    building: str = "Northgate Elementary",
    *,
    grade: str = "5",
    year: str = "2025-2026",
    virtual_year: str | None = None,
    target: str = "",
) -> list[str]:
    return [email, name, building, grade, year, virtual_year if virtual_year is not None else year, target]


def roster_csv(rows: Sequence[Sequence[str]], headers: Sequence[str] = ROSTER_HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode()


def roster_xlsx(rows: Sequence[Sequence[Any]], headers: Sequence[str] = ROSTER_HEADERS) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
