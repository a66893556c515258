"""Capability matrix rows for virtual events and their reports (07 CAP, 04 VS-4, VS-5).

* create/edit virtual events, tag presenters and teachers: global users (admin, manager, user);
* set the cancellation reason: global users and district users in their districts (🔒);
* presenter recruitment and the flag list: global users only (VS-4).

Tag rows are per role (``build``), so every allowed role gets the success status. DELETE of a
missing tag answers 200 (``removed: false``), so the same URL serves every role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from polaris_api.db import utcnow
from polaris_api.models.events import Event, EventDistrict, EventTeacher
from polaris_api.models.reference import District
from tests.capability_matrix import Case, only
from tests.pathful_factories import make_volunteer
from tests.teacher_factories import ZONE, make_teacher

GLOBAL_USERS = only("admin", "manager", "user")
CANCELLATION_SETTERS = only("admin", "manager", "user", "district")
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1
ROLES_WITH_ROWS = ("anonymous", "admin", "manager", "user", "district", "key_read", "key_sync", "teacher")


async def make_manual_event(
    session: Any, start: dt.datetime | None, *, status: str = "confirmed", duration: int = 60, **fields: Any
) -> Event:
    """A Polaris-created virtual session (source manual, no Salesforce or Pathful id)."""
    values: dict[str, Any] = {
        "title": "Manual virtual session",
        "type": "virtual_session",
        "format": "virtual",
        "source": "manual",
        "status": status,
        "start_date": start,
        "start_day": start.astimezone(ZONE).date() if start else None,
        "end_date": start + dt.timedelta(minutes=duration) if start else None,
        "duration": duration,
    }
    values.update(fields)
    event = Event(**values)
    session.add(event)
    await session.flush()
    return event


async def _event(ctx: dict[str, Any], session: Any) -> None:
    """A cancelled virtual session linked to district 1, a volunteer and a teacher per role, and a
    teacher link for the correction endpoint."""
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    await session.flush()
    event = await make_manual_event(session, utcnow() + dt.timedelta(days=10), status="cancelled")
    session.add(EventDistrict(event_id=event.id, district_id=DISTRICT_ID))
    ctx["event_id"] = event.id
    ctx["volunteers"] = {}
    ctx["teachers"] = {}
    for role in ROLES_WITH_ROWS:
        ctx["volunteers"][role] = (await make_volunteer(session, "Pat", f"Presenter {role}")).id
        ctx["teachers"][role] = (await make_teacher(session, "Tess", f"Teacher {role}")).id
    linked = await make_teacher(session, "Lin", "Linked")
    session.add(EventTeacher(event_id=event.id, teacher_id=linked.id, status="registered", source="manual"))
    ctx["linked_teacher"] = linked.id
    await session.commit()


def _event_url(suffix: str = "") -> Any:
    return lambda ctx: f"/api/v1/events/{ctx['event_id']}{suffix}"


CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/events",
        201,
        GLOBAL_USERS,
        build=lambda ctx, role: {
            "json": {"title": f"Virtual session by {role}", "start_date": "2031-01-15T09:00:00"}
        },
    ),
    Case(
        "PATCH",
        "/api/v1/events/{event_id}",
        200,
        CANCELLATION_SETTERS,
        url=_event_url(),
        build=lambda ctx, role: {"json": {"cancellation_reason": "WEATHER"}},
        setup=_event,
    ),
    Case(
        "POST",
        "/api/v1/events/{event_id}/presenters",
        201,
        GLOBAL_USERS,
        url=_event_url("/presenters"),
        build=lambda ctx, role: {"json": {"volunteer_id": ctx["volunteers"][role]}},
        setup=_event,
    ),
    Case(
        "DELETE",
        "/api/v1/events/{event_id}/presenters/{volunteer_id}",
        200,
        GLOBAL_USERS,
        url=lambda ctx: f"/api/v1/events/{ctx['event_id']}/presenters/{ctx['volunteers']['admin']}",
        setup=_event,
    ),
    Case(
        "POST",
        "/api/v1/events/{event_id}/teachers",
        201,
        GLOBAL_USERS,
        url=_event_url("/teachers"),
        build=lambda ctx, role: {"json": {"teacher_id": ctx["teachers"][role]}},
        setup=_event,
    ),
    Case(
        "DELETE",
        "/api/v1/events/{event_id}/teachers/{teacher_id}",
        200,
        GLOBAL_USERS,
        url=lambda ctx: f"/api/v1/events/{ctx['event_id']}/teachers/{ctx['linked_teacher']}",
        setup=_event,
    ),
    Case(
        "PATCH",
        "/api/v1/events/{event_id}/teachers/{teacher_id}",
        200,
        GLOBAL_USERS,
        url=lambda ctx: f"/api/v1/events/{ctx['event_id']}/teachers/{ctx['linked_teacher']}",
        build=lambda ctx, role: {"json": {"status": "attended", "notes": "confirmed by phone"}},
        setup=_event,
    ),
    Case("GET", "/api/v1/reports/presenter-recruitment", 200, GLOBAL_USERS),
    Case("GET", "/api/v1/reports/virtual-session-flags", 200, GLOBAL_USERS),
]
