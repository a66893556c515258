"""The built-in scheduler (09 §1 cadences, OPS-2, OPS-4, OPS-6; issue 13 item 2).

The timing is APScheduler's; these tests prove the wiring: the 09 cadences in Chicago time
across a DST change, refused cron expressions, scheduled runs started through the real API over
HTTP with an API key, a second scheduler refused by the run lock without failing, and the next
fire time in ``GET /api/v1/sync/health``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from polaris_client import PolarisClient
from pydantic import ValidationError
from sqlalchemy import select

from polaris_api.app import create_app
from polaris_api.models.sync import SyncRun
from polaris_api.scheduler import DEFAULT_SCHEDULE, api_sync_trigger, build_scheduler, next_fire_times
from polaris_api.settings import Settings
from tests.conftest import make_settings
from tests.live_server import serve_in_thread
from tests.sync_helpers import sf_session

PUB = "salesforce-publishing"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_ops_default_schedule_follows_09_cadences_in_chicago_time() -> None:
    settings = make_settings()
    # Saturday 2026-12-05 01:30 CST
    upcoming = next_fire_times(DEFAULT_SCHEDULE, settings.tz, utc("2026-12-05T07:30:00"))
    assert upcoming[PUB] == utc("2026-12-05T08:00:00")  # hourly
    assert upcoming["daily"] == utc("2026-12-05T08:00:00")  # 02:00 CST, Monday to Saturday
    assert upcoming["weekly"] == utc("2026-12-06T08:00:00")  # Sunday 02:00 CST
    assert upcoming["outbox"] == utc("2026-12-05T07:35:00")


def test_ops_daily_at_two_chicago_moves_in_utc_across_the_dst_change() -> None:
    zone = make_settings().tz
    schedule = {"daily": DEFAULT_SCHEDULE["daily"]}
    # Saturday 2026-10-31 02:00 is CDT (UTC-5); Monday 2026-11-02 02:00 is CST (UTC-6)
    assert next_fire_times(schedule, zone, utc("2026-10-30T12:00:00"))["daily"] == utc("2026-10-31T07:00:00")
    assert next_fire_times(schedule, zone, utc("2026-11-01T12:00:00"))["daily"] == utc("2026-11-02T08:00:00")


@pytest.mark.parametrize("expression", ["61 * * * *", "* * *", "every hour", ""])
def test_cfg_schedule_with_a_bad_cron_expression_is_refused_at_start(expression: str) -> None:
    with pytest.raises(ValidationError, match="POLARIS_SCHEDULE"):
        Settings(schedule={"daily": expression})


def test_ops_cron_weekday_numbers_count_from_sunday() -> None:
    zone = make_settings().tz
    # Friday 2026-12-04 12:00 CST: "1-5" (Monday to Friday) fires next on Monday 2026-12-07, not Saturday
    upcoming = next_fire_times(
        {"job": "0 9 * * 1-5", "sunday": "0 9 * * 0", "seven": "0 9 * * 7"}, zone, utc("2026-12-04T18:00:00")
    )
    assert upcoming["job"] == utc("2026-12-07T15:00:00")
    assert upcoming["sunday"] == upcoming["seven"] == utc("2026-12-06T15:00:00")
    assert next_fire_times({"every": "*/2 * * * *"}, zone, utc("2026-12-04T18:01:00"))["every"] == utc(
        "2026-12-04T18:02:00"
    )


def test_cfg_empty_schedule_schedules_nothing() -> None:
    assert (
        next_fire_times(make_settings(schedule={}).schedule, make_settings().tz, utc("2026-12-05T00:00:00"))
        == {}
    )


@pytest.fixture
def settings(sf_app_settings: Any) -> Settings:
    return sf_app_settings()


async def _sync_key(client: Any, admin: dict[str, Any]) -> str:
    created = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "scheduler", "scopes": ["sync:run"]}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


async def _runs(session: Any) -> list[SyncRun]:
    session.expire_all()
    return list((await session.scalars(select(SyncRun).order_by(SyncRun.id))).all())


async def _wait_for(predicate: Any) -> None:
    for _ in range(200):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out after 20 s")


@pytest.mark.committed_db  # a live server thread
async def test_ops_6_scheduler_fires_a_kind_through_the_api_as_a_scheduled_run(
    client: Any, admin: dict[str, Any], session: Any, sf: Any, settings: Settings
) -> None:
    sf.admin.replace("Session__c", [sf_session(1)])
    key = await _sync_key(client, admin)
    server_app = create_app(settings)
    with serve_in_thread(server_app) as base_url, PolarisClient(base_url, api_key=key) as api:
        scheduler = build_scheduler(
            {PUB: "0 * * * *"}, settings.tz, trigger_sync=api_sync_trigger(api), sweep_outbox=_never
        )
        scheduler.start()
        try:
            scheduler.get_job(PUB).modify(next_run_time=dt.datetime.now(dt.UTC))  # fire now

            async def finished() -> bool:
                runs = await _runs(session)
                return bool(runs) and runs[0].status in {"succeeded", "partial", "failed"}

            await _wait_for(finished)
        finally:
            scheduler.shutdown(wait=False)
    (run,) = await _runs(session)
    assert (run.kind, run.trigger, run.status) == (PUB, "schedule", "succeeded")
    assert run.requested_by_api_key_id is not None


@pytest.mark.committed_db  # a live server thread
async def test_ops_2_a_second_scheduler_is_refused_by_the_run_lock_and_keeps_going(
    client: Any, admin: dict[str, Any], session: Any, sf: Any, settings: Settings, caplog: Any
) -> None:
    sf.admin.replace("Session__c", [sf_session(1)])
    sf.admin.add_fault("timeout", endpoint="query", times=1, delay_s=2.0)  # the first run stays open
    key = await _sync_key(client, admin)
    server_app = create_app(settings)
    with serve_in_thread(server_app) as base_url, PolarisClient(base_url, api_key=key) as api:
        first, second = api_sync_trigger(api), api_sync_trigger(api)
        await first(PUB)
        with caplog.at_level(logging.INFO, logger="polaris_api.scheduler"):
            await second(PUB)  # 409 sync_already_running: logged, no exception

        async def settled() -> bool:
            return all(run.status in {"succeeded", "partial", "failed"} for run in await _runs(session))

        await _wait_for(settled)
    runs = await _runs(session)
    assert len(runs) == 1 and runs[0].trigger == "schedule"
    assert any("already running" in record.getMessage() for record in caplog.records)


async def test_ops_4_health_shows_the_next_scheduled_time_per_kind(
    client: Any, admin: dict[str, Any]
) -> None:
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    by_kind = {kind["kind"]: kind for kind in health["kinds"]}
    checked = dt.datetime.fromisoformat(health["checked_at"])
    for kind in (PUB, "daily", "weekly"):
        upcoming = dt.datetime.fromisoformat(by_kind[kind]["next_scheduled_at"])
        assert checked < upcoming <= checked + dt.timedelta(days=7)
    assert by_kind["salesforce-students"]["next_scheduled_at"] is None  # runs inside the composites


async def _never(entry: str) -> None:
    raise AssertionError(f"{entry} should not run")


def test_ops_6_cli_scheduler_refuses_to_start_without_credentials(monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from polaris_api.cli import app as cli_app

    monkeypatch.delenv("POLARIS_API_KEY", raising=False)
    monkeypatch.delenv("POLARIS_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["scheduler", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "sync:run" in result.output
