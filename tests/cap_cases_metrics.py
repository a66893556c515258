"""Capability matrix rows for ``GET /api/v1/metrics`` (06 §3, 07 CAP "global dashboards and
metrics" / "district metrics"): global staff and ``read`` keys read; the district user (district 1)
reads with its own ``district_id`` (without one the figure is global: 403, covered in
tests/test_metrics.py); teachers and ``sync`` keys 403."""

from __future__ import annotations

from typing import Any

from polaris_api.models.reference import District
from tests.capability_matrix import Case, only

DISTRICT_ID = 1  # the matrix's district user is scoped to district 1


async def _district(ctx: dict[str, Any], session: Any) -> None:
    session.add(District(id=DISTRICT_ID, name="District One", slug="district-one"))
    await session.commit()


CASES: list[Case] = [
    Case(
        "GET",
        "/api/v1/metrics",
        200,
        only("admin", "manager", "user", "district", "key_read"),
        build=lambda ctx, role: {
            "params": {"start_date": "2024-09-01", "end_date": "2024-09-30", "district_id": DISTRICT_ID}
        },
        setup=_district,
    ),
]
