"""Capability matrix rows for teacher access (04 ML-*, 07 CAP "teacher: own progress and sessions,
report a data issue", PRIV-7).

* ``/teacher-access/me`` and ``POST /teacher-access/issues``: the teacher token only (ML-8);
* data-issue review: staff users, district users in scope (ML-10); no API keys, no teachers;
* the kill switch: admin; the support ``teacher-view``: global users (ML-8: district users 403);
* ``exchange`` with an unknown token is the same 401 ``invalid_link`` for every caller.

The matrix's teacher token is for ``teacher_progress`` id 1 with ``ver`` 1: :func:`_teacher`
creates that record and the used magic link 1 it was (notionally) exchanged for (ML-7 re-check).

``POST /teacher-access/request`` needs no authentication and always answers 202 (ML-1), so it
cannot be a matrix row (anonymous callers do not get 401): it is tested in test_magic_links.
"""

from __future__ import annotations

from typing import Any

from polaris_api.db import utcnow
from polaris_api.models.reference import District
from polaris_api.models.teachers import DataIssue, MagicLink, TeacherProgress
from polaris_api.services.teacher_progress import current_academic_year
from tests.capability_matrix import ALL_AUTHENTICATED, STAFF, Case, only
from tests.teacher_factories import ZONE

DISTRICT_ID = 1  # the matrix's district user is scoped to district 1
TEACHER_PROGRESS_ID = 1  # the matrix's teacher token
EMAIL = "matrix.teacher@one.example"
GLOBAL_STAFF = only("admin", "manager", "user")


async def _teacher(ctx: dict[str, Any], session: Any) -> None:
    """District 1, record 1 (active, current year), its used link 1, and one open data issue."""
    now = utcnow()
    if await session.get(District, DISTRICT_ID) is None:
        session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
        await session.flush()
    year = current_academic_year(ZONE, now)
    session.add(
        TeacherProgress(
            id=TEACHER_PROGRESS_ID,
            district_id=DISTRICT_ID,
            academic_year=year,
            virtual_year=year,
            email=EMAIL,
            name="Matrix Teacher",
            target_sessions=1,
        )
    )
    await session.flush()
    session.add(
        MagicLink(
            id=1,
            teacher_progress_id=TEACHER_PROGRESS_ID,
            email=EMAIL,
            token_hash="0" * 64,
            created_at=now,
            expires_at=now,
            used_at=now,
        )
    )
    issue = DataIssue(
        teacher_progress_id=TEACHER_PROGRESS_ID, category="missing_data", note="n", status="open"
    )
    session.add(issue)
    await session.commit()
    ctx["issue_id"] = issue.id


CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/teacher-access/exchange",
        401,
        ALL_AUTHENTICATED,
        build=lambda ctx, role: {"json": {"token": "not-a-valid-token"}},
    ),
    Case("GET", "/api/v1/teacher-access/me", 200, only("teacher"), setup=_teacher),
    Case(
        "POST",
        "/api/v1/teacher-access/issues",
        201,
        only("teacher"),
        setup=_teacher,
        build=lambda ctx, role: {"json": {"category": "missing_data", "note": "a session is missing"}},
    ),
    Case("GET", "/api/v1/data-issues", 200, STAFF, setup=_teacher),
    Case(
        "PATCH",
        "/api/v1/data-issues/{issue_id}",
        200,
        STAFF,
        setup=_teacher,
        url=lambda ctx: f"/api/v1/data-issues/{ctx['issue_id']}",
        build=lambda ctx, role: {"json": {"status": "resolved", "resolution_note": f"checked by {role}"}},
    ),
    Case(
        "PUT",
        "/api/v1/teacher-access/settings",
        200,
        only("admin"),
        build=lambda ctx, role: {"json": {"enabled": True}},
    ),
    Case("GET", "/api/v1/teacher-access/settings", 200, only("admin")),
    Case(
        "GET",
        "/api/v1/teacher-progress/{teacher_progress_id}/teacher-view",
        200,
        GLOBAL_STAFF,
        setup=_teacher,
        url=lambda ctx: f"/api/v1/teacher-progress/{TEACHER_PROGRESS_ID}/teacher-view",
    ),
]
