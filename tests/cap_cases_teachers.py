"""Capability matrix rows for the roster import, teachers, teacher progress and overrides (07 CAP).

* roster upload: global staff (and keys with ``imports:write``, not a matrix role);
* teacher list and teacher progress: district data (staff, district users in scope, ``read`` keys);
* deactivation/reactivation and attendance overrides: admin and global manager+ only;
* merging duplicate teachers: admin only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from polaris_api.db import utcnow
from polaris_api.models.reference import District
from polaris_api.services.teacher_progress import current_academic_year, window_for
from tests.capability_matrix import STAFF, Case, only
from tests.teacher_factories import (
    ZONE,
    make_override,
    make_record,
    make_teacher,
    make_virtual_event,
    roster_csv,
    roster_row,
)

READERS = STAFF | {"key_read"}
GLOBAL_STAFF = only("admin", "manager", "user")
MANAGERS = only("admin", "manager")
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1


async def _roster(ctx: dict[str, Any], session: Any) -> None:
    """District 1 with one record of the current year, its teacher, and started virtual events."""
    now = utcnow()
    year = current_academic_year(ZONE, now)
    window = window_for(year, ZONE)
    district = District(id=DISTRICT_ID, name="District One", slug="district-one")
    session.add(district)
    await session.flush()
    teacher = await make_teacher(session, "Maria", "Delgado", email="maria@one.example")
    record = await make_record(session, district, "maria@one.example", teacher=teacher, academic_year=year)
    started = max(window.start + dt.timedelta(seconds=30), now - dt.timedelta(hours=1))
    ctx["record_id"] = record.id
    ctx["events"] = {}
    ctx["overrides"] = {}
    for role in ("admin", "manager"):
        event = await make_virtual_event(session, started)
        ctx["events"][role] = event.id
        reversible = await make_virtual_event(session, started)
        ctx["overrides"][role] = (await make_override(session, record, reversible, "add")).id
    await session.commit()


async def _deactivated(ctx: dict[str, Any], session: Any) -> None:
    await _roster(ctx, session)
    from polaris_api.models.teachers import TeacherProgress

    record = await session.get(TeacherProgress, ctx["record_id"])
    record.is_active = False
    record.deactivation_source = "manual_admin"
    await session.commit()


async def _duplicates(ctx: dict[str, Any], session: Any) -> None:
    """Two teachers, one a duplicate of the other (the admin merges it; others are refused first)."""
    survivor = await make_teacher(session, "Maria", "Delgado", email="maria@one.example")
    duplicate = await make_teacher(session, "Maria", "Delgado", email="m.delgado@one.example")
    ctx["merge"] = (duplicate.id, survivor.id)
    await session.commit()


def _upload(ctx: dict[str, Any], role: str) -> dict[str, Any]:
    content = roster_csv([roster_row("maria@one.example", "Maria Delgado")])
    return {"data": {"district_id": str(DISTRICT_ID)}, "files": {"file": ("roster.csv", content)}}


def _override_body(ctx: dict[str, Any], role: str) -> dict[str, Any]:
    event_id = ctx["events"].get(role, ctx["events"]["admin"])
    return {"json": {"event_id": event_id, "action": "add", "reason": "attended, per the teacher"}}


def _reverse(ctx: dict[str, Any], role: str) -> dict[str, Any]:
    """Each allowed role reverses its own override (a second reversal is 409 by TP-6).

    The matrix sends one URL per case, so an httpx auth hook points the request at the role's
    override; refused roles are refused before the id matters.
    """
    override_id = ctx["overrides"].get(role, ctx["overrides"]["admin"])

    def to_own_override(request: httpx.Request) -> httpx.Request:
        request.url = request.url.copy_with(path=f"/api/v1/overrides/{override_id}/reverse")
        return request

    return {"json": {"reason": "entered by mistake"}, "auth": to_own_override}


CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/teachers/{teacher_id}/merge",
        200,
        only("admin"),
        url=lambda ctx: f"/api/v1/teachers/{ctx['merge'][0]}/merge",
        build=lambda ctx, role: {"json": {"into_teacher_id": ctx["merge"][1]}},
        setup=_duplicates,
    ),
    Case("POST", "/api/v1/imports/roster", 200, GLOBAL_STAFF, build=_upload, setup=_roster),
    Case(
        "GET",
        "/api/v1/teachers",
        200,
        READERS,
        build=lambda ctx, role: {"params": {"district_id": DISTRICT_ID}},
        setup=_roster,
    ),
    Case(
        "GET",
        "/api/v1/teacher-progress",
        200,
        READERS,
        build=lambda ctx, role: {"params": {"district_id": DISTRICT_ID}},
        setup=_roster,
    ),
    Case(
        "GET",
        "/api/v1/teacher-progress/summary",
        200,
        READERS,
        build=lambda ctx, role: {"params": {"district_id": DISTRICT_ID}},
        setup=_roster,
    ),
    Case(
        "GET",
        "/api/v1/teacher-progress/{teacher_progress_id}",
        200,
        READERS,
        url=lambda ctx: f"/api/v1/teacher-progress/{ctx['record_id']}",
        setup=_roster,
    ),
    Case(
        "POST",
        "/api/v1/teacher-progress/{teacher_progress_id}/deactivate",
        200,
        MANAGERS,
        url=lambda ctx: f"/api/v1/teacher-progress/{ctx['record_id']}/deactivate",
        build=lambda ctx, role: {"json": {"reason": "left_district"}},
        setup=_roster,
    ),
    Case(
        "POST",
        "/api/v1/teacher-progress/{teacher_progress_id}/reactivate",
        200,
        MANAGERS,
        url=lambda ctx: f"/api/v1/teacher-progress/{ctx['record_id']}/reactivate",
        build=lambda ctx, role: {"json": {"reason": "back on the roster"}},
        setup=_deactivated,
    ),
    Case(
        "POST",
        "/api/v1/teacher-progress/{teacher_progress_id}/overrides",
        201,
        MANAGERS,
        url=lambda ctx: f"/api/v1/teacher-progress/{ctx['record_id']}/overrides",
        build=_override_body,
        setup=_roster,
    ),
    Case(
        "POST",
        "/api/v1/overrides/{override_id}/reverse",
        200,
        MANAGERS,
        url=lambda ctx: f"/api/v1/overrides/{ctx['overrides']['admin']}/reverse",
        build=_reverse,
        setup=_roster,
    ),
]
