"""Capability matrix rows for the SF-36 communication review (07 CAP "resolve unmatched import
rows": global staff users of any level; district users, API keys and teachers refused)."""

from __future__ import annotations

from typing import Any

from polaris_api.models.comms import Communication
from polaris_api.models.people import Volunteer
from tests.capability_matrix import Case, only

GLOBAL_STAFF = only("admin", "manager", "user")


async def _unmatched(ctx: dict[str, Any], session: Any) -> None:
    volunteer = Volunteer(first_name="Ana", last_name="Lopez", email_normalized="ana@example.org")
    row = Communication(salesforce_activity_id="00T000000000001AAA", kind="email", match_status="unmatched")
    session.add_all([volunteer, row])
    await session.commit()
    ctx["comms"] = {"row": row.id, "volunteer": volunteer.id}


CASES: list[Case] = [
    Case("GET", "/api/v1/communications/unmatched", 200, GLOBAL_STAFF, setup=_unmatched),
    Case(
        "POST",
        "/api/v1/communications/{communication_id}/assign",
        200,
        GLOBAL_STAFF,
        url=lambda ctx: f"/api/v1/communications/{ctx['comms']['row']}/assign",
        build=lambda ctx, role: {"json": {"volunteer_id": ctx.get("comms", {}).get("volunteer", 1)}},
        setup=_unmatched,
    ),
]
