"""Capability matrix rows for sync runs (07 CAP "trigger syncs": global staff of any level and API
keys with ``sync:run``; reading runs also allows keys with ``sync:read`` or ``sync:run``).

The matrix app has no Salesforce configured, so a triggered run with ``wait=true`` ends at once
as ``failed`` (``sf_not_configured``) and the next role can trigger again."""

from __future__ import annotations

from typing import Any

from polaris_api.db import utcnow
from polaris_api.models.sync import SyncRun
from tests.capability_matrix import Case, only

SYNC_STAFF = only("admin", "manager", "user", "key_sync")
RUN_ID = 1


async def _run(ctx: dict[str, Any], session: Any) -> None:
    now = utcnow()
    session.add(
        SyncRun(
            id=RUN_ID,
            kind="salesforce-publishing",
            mode="full",
            trigger="schedule",
            status="succeeded",
            created_at=now,
            started_at=now,
            finished_at=now,
            counts={"returned": 0},
            errors=[],
        )
    )
    await session.commit()


CASES: list[Case] = [
    Case(
        "POST",
        "/api/v1/sync/{kind}",
        200,
        SYNC_STAFF,
        url=lambda ctx: "/api/v1/sync/salesforce-publishing?wait=true",
    ),
    Case("GET", "/api/v1/sync/runs", 200, SYNC_STAFF, setup=_run),
    Case(
        "GET",
        "/api/v1/sync/runs/{run_id}",
        200,
        SYNC_STAFF,
        url=lambda ctx: f"/api/v1/sync/runs/{RUN_ID}",
        setup=_run,
    ),
    Case("GET", "/api/v1/sync/health", 200, SYNC_STAFF),
]
