"""Capability matrix rows for the publishing controls (07 CAP "publishing controls": global staff of
any level; district users, API keys and teachers refused)."""

from __future__ import annotations

from typing import Any

from polaris_api.db import utcnow
from polaris_api.models.events import Event, EventDistrict
from polaris_api.models.reference import District
from tests.capability_matrix import Case, only

PUBLISHERS = only("admin", "manager", "user")
EVENT_ID = 1
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1: still refused here


async def _event_and_district(ctx: dict[str, Any], session: Any) -> None:
    """One publishing event and one district, with fixed ids (each case starts on empty tables)."""
    now = utcnow()
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    session.add(
        Event(
            id=EVENT_ID,
            title="Career Fair",
            salesforce_id="a0B000000000001AAA",
            start_day=now.date(),
            available_slots=3,
            publishing_first_seen_at=now,
            publishing_last_seen_at=now,
            publish_status="active",
            display_on_website=True,
        )
    )
    await session.commit()


async def _linked(ctx: dict[str, Any], session: Any) -> None:
    await _event_and_district(ctx, session)
    session.add(EventDistrict(event_id=EVENT_ID, district_id=DISTRICT_ID))
    await session.commit()


CASES: list[Case] = [
    Case("GET", "/api/v1/publishing/events", 200, PUBLISHERS, setup=_event_and_district),
    Case(
        "PATCH",
        "/api/v1/publishing/events/{event_id}",
        200,
        PUBLISHERS,
        url=lambda ctx: f"/api/v1/publishing/events/{EVENT_ID}",
        build=lambda ctx, role: {
            "json": {"note": f"checked by {role}", "display_on_website": role != "user"}
        },
        setup=_event_and_district,
    ),
    Case(
        "PUT",
        "/api/v1/publishing/events/{event_id}/districts/{district_id}",
        200,
        PUBLISHERS,
        url=lambda ctx: f"/api/v1/publishing/events/{EVENT_ID}/districts/{DISTRICT_ID}",
        setup=_event_and_district,
    ),
    Case(
        "DELETE",
        "/api/v1/publishing/events/{event_id}/districts/{district_id}",
        200,
        PUBLISHERS,
        url=lambda ctx: f"/api/v1/publishing/events/{EVENT_ID}/districts/{DISTRICT_ID}",
        setup=_linked,
    ),
    Case("GET", "/api/v1/publishing/sync-errors", 200, PUBLISHERS),
]
