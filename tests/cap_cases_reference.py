"""Capability matrix rows for reference reads (07 CAP "district data": staff, district users within
their districts, API keys with the ``read`` scope; teachers refused)."""

from __future__ import annotations

from typing import Any

from polaris_api.models.reference import District, School
from tests.capability_matrix import STAFF, Case

READERS = STAFF | {"key_read"}
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1


async def _district_one(ctx: dict[str, Any], session: Any) -> None:
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    await session.flush()
    session.add(School(name="District One High", district_id=DISTRICT_ID))
    await session.commit()


CASES: list[Case] = [
    Case("GET", "/api/v1/districts", 200, READERS, setup=_district_one),
    Case(
        "GET",
        "/api/v1/districts/{district_id}",
        200,
        READERS,
        url=lambda ctx: f"/api/v1/districts/{DISTRICT_ID}",
        setup=_district_one,
    ),
    Case(
        "GET",
        "/api/v1/schools",
        200,
        READERS,
        build=lambda ctx, role: {"params": {"district_id": DISTRICT_ID}},
        setup=_district_one,
    ),
]
