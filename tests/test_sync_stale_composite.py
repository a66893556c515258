"""09 OPS-2 / OPS-3 (issue 11 item 2): a killed composite frees its own lock *and* its running
part's. Recovering a stale composite fails its queued or running children in the same
transaction, so the retried composite can run that part again instead of failing it with
``sync_already_running``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from polaris_api.db import utcnow
from polaris_api.models.sync import SyncRun
from tests.sync_helpers import sync

PART = "salesforce-organizations"  # the daily composite's first part


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


async def test_ops_2_stale_composite_recovery_fails_its_running_part(client, admin, sf, session, settings):
    old = utcnow() - dt.timedelta(minutes=settings.sync_heartbeat_timeout_minutes + 1)
    dead = SyncRun(kind="daily", mode="incremental", trigger="schedule", status="running")
    dead.created_at = dead.started_at = dead.heartbeat_at = old
    session.add(dead)
    await session.flush()
    # the part beat last just before the process died: not stale on its own yet
    part = SyncRun(kind=PART, mode="incremental", trigger="schedule", status="running", parent_run_id=dead.id)
    part.created_at = part.started_at = old
    part.heartbeat_at = utcnow() - dt.timedelta(seconds=5)
    session.add(part)
    await session.commit()
    dead_id, part_id = dead.id, part.id

    retried = await sync(client, admin["headers"], "daily")

    parts = {p["kind"]: p for p in retried["parts"]}
    assert (parts[PART]["status"], parts[PART]["error_code"]) == ("succeeded", None)
    assert retried["status"] == "succeeded", retried["errors"]
    session.expire_all()
    old_runs = {
        run.id: (run.status, run.error_code, run.finished_at is not None)
        for run in (
            await session.execute(select(SyncRun).where(SyncRun.id.in_([dead_id, part_id])))
        ).scalars()
    }
    assert old_runs == {
        dead_id: ("failed", "stale_heartbeat", True),
        part_id: ("failed", "stale_heartbeat", True),
    }


async def test_ops_2_recovering_a_stale_composite_leaves_other_runs_alone(
    client, admin, sf, session, settings
):
    """Only the stale composite's own children are failed: a fresh run of another kind keeps
    its lock (OPS-2)."""
    old = utcnow() - dt.timedelta(minutes=settings.sync_heartbeat_timeout_minutes + 1)
    dead = SyncRun(kind="daily", mode="incremental", trigger="schedule", status="running")
    dead.created_at = dead.started_at = dead.heartbeat_at = old
    alive = SyncRun(kind="salesforce-students", mode="full", trigger="api", status="running")
    alive.created_at = alive.started_at = alive.heartbeat_at = utcnow()
    session.add_all([dead, alive])
    await session.commit()

    await sync(client, admin["headers"], "daily")

    blocked = await client.post("/api/v1/sync/salesforce-students", headers=admin["headers"])
    assert blocked.status_code == 409 and blocked.json()["running_run_id"] == alive.id
