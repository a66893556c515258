"""Capability matrix rows for the metric inputs Polaris owns (06 §1): the G8 setting and a school's
level are global-admin edits (every staff user and ``read`` key reads the setting); attendance details, report exclusions and the local-status override are for global staff
users (like publishing controls); district users, API keys and teachers refused (07 CAP, DV-1)."""

from __future__ import annotations

from typing import Any

from polaris_api.models.events import Event
from polaris_api.models.people import Student, Teacher, Volunteer
from polaris_api.models.reference import District, School
from tests.capability_matrix import Case, only

EDITORS = only("admin", "manager", "user")
READERS = EDITORS | {"key_read"}
ROW_ID = 1
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1: still refused here


async def _rows(ctx: dict[str, Any], session: Any) -> None:
    """One row of each edited table, with fixed ids, in the district user's district."""
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    await session.flush()
    session.add(School(id=ROW_ID, name="District One High", district_id=DISTRICT_ID))
    session.add(Event(id=ROW_ID, title="Career Fair", type="career_fair", format="in_person"))
    session.add(Volunteer(id=ROW_ID, last_name="Lopez", email_normalized="ana@example.org"))
    session.add(Teacher(id=ROW_ID, last_name="Teacher", school_id=ROW_ID))
    session.add(Student(id=ROW_ID, last_name="Student"))
    await session.commit()


def _patch(path: str, allowed: frozenset[str], body: dict[str, Any]) -> Case:
    return Case(
        "PATCH",
        path,
        200,
        allowed,
        url=lambda ctx: path.split("{")[0] + str(ROW_ID),
        build=lambda ctx, role: {"json": body},
        setup=_rows,
    )


CASES: list[Case] = [
    Case("GET", "/api/v1/settings/reporting", 200, only("admin", "manager", "user", "district", "key_read")),
    Case(
        "PUT",
        "/api/v1/settings/reporting",
        200,
        only("admin"),
        build=lambda ctx, role: {"json": {"virtual_students_per_teacher": 30}},
    ),
    _patch("/api/v1/schools/{school_id}", only("admin"), {"level": "high"}),
    _patch(
        "/api/v1/volunteers/{volunteer_id}", EDITORS, {"exclude_from_reports": True, "local_status": "local"}
    ),
    _patch("/api/v1/teachers/{teacher_id}", EDITORS, {"exclude_from_reports": True}),
    _patch("/api/v1/students/{student_id}", EDITORS, {"exclude_from_reports": True}),
    Case(
        "GET",
        "/api/v1/events/{event_id}/attendance-detail",
        200,
        READERS,
        url=lambda ctx: f"/api/v1/events/{ROW_ID}/attendance-detail",
        setup=_rows,
    ),
    Case(
        "PUT",
        "/api/v1/events/{event_id}/attendance-detail",
        200,
        EDITORS,
        url=lambda ctx: f"/api/v1/events/{ROW_ID}/attendance-detail",
        build=lambda ctx, role: {"json": {"total_students": 60, "num_classrooms": 2, "rotations": 3}},
        setup=_rows,
    ),
]
