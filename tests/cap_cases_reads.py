"""Capability matrix rows for the staff reads: events, volunteers, organizations (07 CAP).

* events: "event list and event detail" — staff, district users inside their districts
  (aggregates, DV-1), ``read`` keys; teachers refused;
* volunteers (search, profile, history, export): global staff and ``read`` keys; district users
  refused (DV-1);
* organizations: global staff and ``read`` keys; district users refused (not in DV-2).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from polaris_api.models.reference import District
from tests.capability_matrix import STAFF, Case, only
from tests.factories import make_event
from tests.read_factories import (
    make_communication,
    make_organization,
    make_participation,
    make_volunteer,
)

EVENT_READERS = STAFF | {"key_read"}
GLOBAL_READERS = only("admin", "manager", "user", "key_read")
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1


async def _event_in_district_one(ctx: dict[str, Any], session: Any) -> None:
    district = District(id=DISTRICT_ID, name="District One", slug="district-one")
    session.add(district)
    await session.flush()
    event = await make_event(session, publishing=False, districts=[district])
    volunteer = await make_volunteer(session, "Ana", "Lopez")
    await make_participation(session, volunteer, event)
    await session.commit()
    ctx["event_id"] = event.id


async def _volunteer(ctx: dict[str, Any], session: Any) -> None:
    event = await make_event(session, publishing=False)
    volunteer = await make_volunteer(session, "Ana", "Lopez", skills=["Python"])
    await make_participation(session, volunteer, event)
    await make_communication(session, volunteer, dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    await session.commit()
    ctx["volunteer_id"] = volunteer.id


async def _organization(ctx: dict[str, Any], session: Any) -> None:
    await make_organization(session, "Acme Engineering")
    await session.commit()


CASES: list[Case] = [
    Case(
        "GET",
        "/api/v1/events",
        200,
        EVENT_READERS,
        build=lambda ctx, role: {"params": {"district_id": DISTRICT_ID}},
        setup=_event_in_district_one,
    ),
    Case(
        "GET",
        "/api/v1/events/{event_id}",
        200,
        EVENT_READERS,
        url=lambda ctx: f"/api/v1/events/{ctx['event_id']}",
        setup=_event_in_district_one,
    ),
    Case("GET", "/api/v1/volunteers", 200, GLOBAL_READERS, setup=_volunteer),
    Case(
        "GET",
        "/api/v1/volunteers/export.csv",
        200,
        GLOBAL_READERS,
        build=lambda ctx, role: {"params": {"skills": "python"}},
        setup=_volunteer,
    ),
    Case(
        "GET",
        "/api/v1/volunteers/{volunteer_id}",
        200,
        GLOBAL_READERS,
        url=lambda ctx: f"/api/v1/volunteers/{ctx['volunteer_id']}",
        setup=_volunteer,
    ),
    Case(
        "GET",
        "/api/v1/volunteers/{volunteer_id}/participations",
        200,
        GLOBAL_READERS,
        url=lambda ctx: f"/api/v1/volunteers/{ctx['volunteer_id']}/participations",
        setup=_volunteer,
    ),
    Case(
        "GET",
        "/api/v1/volunteers/{volunteer_id}/communications",
        200,
        GLOBAL_READERS,
        url=lambda ctx: f"/api/v1/volunteers/{ctx['volunteer_id']}/communications",
        setup=_volunteer,
    ),
    Case("GET", "/api/v1/organizations", 200, GLOBAL_READERS, setup=_organization),
]
