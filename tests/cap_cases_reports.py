"""Capability matrix rows for the district year-end reports (06 §6, 07 CAP "district metrics,
year-end report"): every staff user and ``read`` key reads, the district user its own district
(district 1 here); manual inputs are written by global staff users only (district users, API
keys and teachers 403)."""

from __future__ import annotations

from typing import Any

from polaris_api.models.reference import District
from tests.capability_matrix import Case, only

READERS = only("admin", "manager", "user", "district", "key_read")
DISTRICT_ID = 1  # the matrix's district user is scoped to district 1
REPORT = f"/api/v1/reports/districts/{DISTRICT_ID}/year-end"


async def _district(ctx: dict[str, Any], session: Any) -> None:
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    await session.commit()


CASES: list[Case] = [
    Case(
        "GET",
        "/api/v1/reports/year-end",
        200,
        READERS,
        build=lambda ctx, role: {"params": {"school_year": "2425"}},
    ),
    Case(
        "GET",
        "/api/v1/reports/districts/{district_id}/year-end",
        200,
        READERS,
        url=lambda ctx: REPORT,
        build=lambda ctx, role: {"params": {"school_year": "2425"}},
        setup=_district,
    ),
    Case(
        "PUT",
        "/api/v1/reports/districts/{district_id}/year-end/manual-inputs",
        200,
        only("admin", "manager", "user"),
        url=lambda ctx: f"{REPORT}/manual-inputs",
        build=lambda ctx, role: {"params": {"school_year": "2425"}, "json": {"holland_visits": 2}},
        setup=_district,
    ),
]
