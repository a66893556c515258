"""Durable sync runs (09 OPS-1..OPS-6, 07 AUD-1): one run per kind, heartbeat and stale
recovery, background runs, composites, health — through the HTTP API and the test double."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.app import create_app
from polaris_api.db import utcnow
from polaris_api.models.audit import AuditEntry
from polaris_api.models.sync import SyncRun
from polaris_api.services import sync_background, sync_runs
from polaris_api.sync.runs import KINDS
from tests.sync_helpers import account_id, sf_session, sync, wait_finished

PUB = "salesforce-publishing"

# runs work in background tasks beside the requests, each on its own connection
pytestmark = pytest.mark.committed_db


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


@pytest.fixture
async def app(db, settings):
    application = create_app(settings)
    yield application
    await sync_background.stop_background_runs(application)
    await application.state.engine.dispose()


async def _key(client, admin, *scopes: str) -> dict[str, str]:
    created = await client.post(
        "/api/v1/api-keys", headers=admin["headers"], json={"name": "cron", "scopes": list(scopes)}
    )
    return {"X-API-Key": created.json()["key"]}


def _hold(sf, seconds: float = 1.0) -> None:
    """The next Salesforce query answers only after ``seconds``: a run stays open that long."""
    sf.admin.add_fault("timeout", endpoint="query", times=1, delay_s=seconds)


# --------------------------------------------------------------------------------------------
# OPS-1 the run row


async def test_ops_1_run_row_records_kind_mode_trigger_requester_counts_and_timings(client, admin, sf):
    sf.admin.replace("Session__c", [sf_session(1)])
    run = await sync(client, admin["headers"])
    assert run["kind"] == PUB and run["mode"] == "full" and run["trigger"] == "manual"
    assert run["status"] == "succeeded" and run["requested_by_id"] == admin["id"]
    assert run["requested_by_api_key_id"] is None and run["parent_run_id"] is None
    assert run["created_at"] <= run["started_at"] <= run["finished_at"]
    assert run["counts"]["created"] == 1 and run["errors"] == [] and run["error_count"] == 0
    listed = (await client.get("/api/v1/sync/runs", headers=admin["headers"])).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == run["id"]
    assert listed["items"][0]["counts"]["created"] == 1


async def test_ops_1_list_runs_filters_by_kind_and_status_newest_first(client, admin, sf):
    await sync(client, admin["headers"])
    sf.admin.add_fault("http_500", times=None)
    failed = await sync(client, admin["headers"])
    sf.admin.clear_faults()
    await sync(client, admin["headers"], "salesforce-districts-schools")
    headers = admin["headers"]
    everything = (await client.get("/api/v1/sync/runs", headers=headers)).json()
    assert [r["id"] for r in everything["items"]] == sorted(
        (r["id"] for r in everything["items"]), reverse=True
    )
    only_failed = (await client.get("/api/v1/sync/runs", params={"status": "failed"}, headers=headers)).json()
    assert [r["id"] for r in only_failed["items"]] == [failed["id"]]
    by_kind = (
        await client.get("/api/v1/sync/runs", params={"kind": PUB, "page_size": 1}, headers=headers)
    ).json()
    assert by_kind["total"] == 2 and len(by_kind["items"]) == 1
    assert (await client.get("/api/v1/sync/runs/999999", headers=headers)).status_code == 404


async def test_ops_1_unknown_kind_is_404_and_known_but_unavailable_kind_is_501(client, admin):
    unknown = await client.post("/api/v1/sync/salesforce-nothing", headers=admin["headers"])
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_sync_kind"
    response = await client.post("/api/v1/sync/salesforce-signup-push", headers=admin["headers"])
    assert response.status_code == 501
    assert response.json()["code"] == "kind_not_available"
    assert (await client.post("/api/v1/sync/Bad_Kind", headers=admin["headers"])).status_code == 422


async def test_ops_1_pathful_sheet_without_a_configured_sheet_fails_with_a_clear_reason(client, admin):
    """09 CFG-1: Google Sheets unconfigured → the `pathful-sheet` run fails with a clear reason."""
    response = await client.post(
        "/api/v1/sync/pathful-sheet", headers=admin["headers"], params={"wait": "true"}
    )
    run = response.json()
    assert response.status_code == 200 and run["status"] == "failed"
    assert run["error_code"] == "sheets_not_configured"


async def test_sf_2_unconfigured_salesforce_fails_the_run_with_sf_not_configured(client, admin, app):
    app.state.settings = app.state.settings.model_copy(
        update={"salesforce_instance_url": None, "salesforce_access_token": None}
    )
    run = await sync(client, admin["headers"])
    assert run["status"] == "failed" and run["error_code"] == "sf_not_configured"
    assert "not configured" in run["error_message"]


async def test_aud_1_sync_run_started_and_finished_are_audited(client, admin, session):
    run = await sync(client, admin["headers"])
    entries = (
        (await session.execute(select(AuditEntry).where(AuditEntry.entity_type == "sync_run")))
        .scalars()
        .all()
    )
    assert [(e.action, e.entity_id, e.actor_id) for e in entries] == [
        ("sync.run.started", str(run["id"]), admin["id"]),
        ("sync.run.finished", str(run["id"]), admin["id"]),
    ]
    assert entries[1].changes["_details"]["status"] == "succeeded"


# --------------------------------------------------------------------------------------------
# OPS-2 one run per kind, background runs, heartbeat, stale recovery


async def test_ops_2_second_trigger_while_one_runs_gets_409_with_running_run_id(client, admin, sf):
    sf.admin.replace("Session__c", [sf_session(1)])
    _hold(sf, 1.0)
    accepted = await client.post(f"/api/v1/sync/{PUB}", headers=admin["headers"])
    assert accepted.status_code == 202
    body = accepted.json()
    assert (
        body["status"] == "queued" and accepted.headers["location"] == f"/api/v1/sync/runs/{body['run_id']}"
    )

    second = await client.post(f"/api/v1/sync/{PUB}", params={"wait": "true"}, headers=admin["headers"])
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["code"] == "sync_already_running"
    assert second.json()["running_run_id"] == body["run_id"]

    # another kind is not blocked
    other = await sync(client, admin["headers"], "salesforce-districts-schools")
    assert other["status"] == "succeeded"

    run = await wait_finished(client, admin["headers"], body["run_id"])
    assert run["status"] == "succeeded" and run["counts"]["created"] == 1
    assert (await sync(client, admin["headers"]))["status"] == "succeeded"  # free again


async def test_ops_2_heartbeat_is_updated_while_a_run_works(client, admin, sf, app):
    # a timeout of 0.6 s: a heartbeat every 0.2 s (a quarter of it, at least 0.2 s)
    app.state.settings = app.state.settings.model_copy(update={"sync_heartbeat_timeout_minutes": 0.01})
    assert sync_runs.heartbeat_interval(app.state.settings) == 0.2
    _hold(sf, 1.0)
    run_id = (await client.post(f"/api/v1/sync/{PUB}", headers=admin["headers"])).json()["run_id"]
    moved = False
    for _ in range(200):
        run = (await client.get(f"/api/v1/sync/runs/{run_id}", headers=admin["headers"])).json()
        if run["status"] == "running" and run["heartbeat_at"] > run["started_at"]:
            moved = True  # the heartbeat moved while the run waited on Salesforce
            break
        if run["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
    assert moved
    finished = await wait_finished(client, admin["headers"], run_id)
    assert finished["status"] == "succeeded"


async def test_ops_2_stale_heartbeat_run_is_marked_failed_and_frees_the_kind(
    client, admin, session, settings
):
    old = utcnow() - dt.timedelta(minutes=settings.sync_heartbeat_timeout_minutes + 1)
    dead = SyncRun(
        kind=PUB, mode="full", trigger="schedule", status="running", created_at=old, started_at=old
    )
    dead.heartbeat_at = old
    alive = SyncRun(kind="salesforce-districts-schools", mode="full", trigger="api", status="running")
    alive.created_at = alive.started_at = alive.heartbeat_at = utcnow()
    session.add_all([dead, alive])
    await session.commit()

    run = await sync(client, admin["headers"])
    assert run["status"] == "succeeded"
    stale = (await client.get(f"/api/v1/sync/runs/{dead.id}", headers=admin["headers"])).json()
    assert stale["status"] == "failed" and stale["error_code"] == "stale_heartbeat"
    assert stale["finished_at"] is not None

    blocked = await client.post("/api/v1/sync/salesforce-districts-schools", headers=admin["headers"])
    assert blocked.status_code == 409 and blocked.json()["running_run_id"] == alive.id


async def test_ops_2_shutdown_cancels_background_runs_which_end_failed(client, admin, sf, app):
    _hold(sf, 1.0)
    run_id = (await client.post(f"/api/v1/sync/{PUB}", headers=admin["headers"])).json()["run_id"]
    for _ in range(100):
        status = (await client.get(f"/api/v1/sync/runs/{run_id}", headers=admin["headers"])).json()["status"]
        if status == "running":
            break
        await asyncio.sleep(0.02)
    await sync_background.stop_background_runs(app)
    run = (await client.get(f"/api/v1/sync/runs/{run_id}", headers=admin["headers"])).json()
    assert run["status"] == "failed" and run["error_code"] == "cancelled"
    # the held query still ends in its worker thread: wait for its answer (logged by the double
    # when answered), so that it does not land in a later test's request log
    for _ in range(100):
        if sf.admin.requests():
            break
        await asyncio.sleep(0.05)
    sf.admin.clear_faults()


# --------------------------------------------------------------------------------------------
# OPS-3 composites


# SF-50: the composites' parts, parents before children.
DAILY_ORDER = [
    "salesforce-organizations",
    "salesforce-volunteers",
    "salesforce-affiliations",
    "salesforce-events",
    "salesforce-volunteer-participations",
    "salesforce-history",
]
WEEKLY_ORDER = [
    "salesforce-districts-schools",
    "salesforce-organizations",
    "salesforce-volunteers",
    "salesforce-affiliations",
    "salesforce-teachers",
    "salesforce-classes",
    "salesforce-students",
    "salesforce-events",
    "salesforce-volunteer-participations",
    "salesforce-student-participations",
    "salesforce-history",
]


# The Salesforce object each daily part queries first (its requests in the double's log).
DAILY_OBJECTS = {
    "salesforce-organizations": "Account",
    "salesforce-volunteers": "Contact",
    "salesforce-affiliations": "npe5__Affiliation__c",
    "salesforce-events": "Session__c",
    "salesforce-volunteer-participations": "Session_Participant__c",
    "salesforce-history": "Task",
}


def _queried_objects(sf) -> list[str]:
    """The objects Salesforce was asked for, in order, each once per run of asks."""
    objects: list[str] = []
    for request in sf.admin.requests():
        if not objects or objects[-1] != request["object"]:
            objects.append(request["object"])
    return objects


async def test_ops_3_weekly_runs_available_parts_as_child_runs_with_worst_status(client, admin, sf):
    assert list(KINDS["weekly"].parts) == WEEKLY_ORDER
    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "KCPS", "Type": "School District"}])
    run = await sync(client, admin["headers"], "weekly")
    assert run["mode"] == "full" and run["status"] == "succeeded"
    assert [(p["kind"], p["status"], p["mode"]) for p in run["parts"]] == [
        (kind, "succeeded", "full") for kind in WEEKLY_ORDER
    ]
    assert run["counts"]["parts_run"] == 11 and run["counts"]["parts_succeeded"] == 11
    assert "parts_not_available" not in run["counts"] and run["errors"] == []
    part_ids = [p["id"] for p in run["parts"]]
    assert part_ids == sorted(part_ids)  # run one after another, in order
    child = (await client.get(f"/api/v1/sync/runs/{part_ids[0]}", headers=admin["headers"])).json()
    assert child["kind"] == "salesforce-districts-schools"
    assert child["parent_run_id"] == run["id"] and child["counts"]["created"] == 1
    listed = await client.get(
        "/api/v1/sync/runs", params={"parent_run_id": run["id"], "page_size": 50}, headers=admin["headers"]
    )
    assert [r["id"] for r in listed.json()["items"]] == part_ids[::-1]
    assert {r["parent_run_id"] for r in listed.json()["items"]} == {run["id"]}

    # one partial part among succeeded ones: the composite is partial
    # (a Class__c record without its required Name is rejected, SF-19: the classes part is partial)
    sf.admin.replace("Class__c", [{"Id": "a0C000000000001AAA", "Name": None}])
    mixed = await sync(client, admin["headers"], "weekly")
    assert mixed["status"] == "partial"
    assert [(p["kind"], p["status"]) for p in mixed["parts"]] == [
        (kind, "partial" if kind == "salesforce-classes" else "succeeded") for kind in WEEKLY_ORDER
    ]
    classes = next(p for p in mixed["parts"] if p["kind"] == "salesforce-classes")
    classes_run = (await client.get(f"/api/v1/sync/runs/{classes['id']}", headers=admin["headers"])).json()
    assert [e["salesforce_id"] for e in classes_run["errors"]] == ["a0C000000000001AAA"]
    sf.admin.replace("Class__c", [])

    # a failed part: the composite is failed
    sf.admin.add_fault("invalid_session", times=None)
    failed = await sync(client, admin["headers"], "weekly")
    assert failed["status"] == "failed"
    assert failed["parts"][0]["kind"] == "salesforce-districts-schools"
    assert {(p["status"], p["error_code"]) for p in failed["parts"]} == {("failed", "sf_auth_failed")}
    skipped = [e["kind"] for e in failed["errors"] if e["code"] == "dependency_failed"]
    assert sorted([p["kind"] for p in failed["parts"]] + skipped, key=WEEKLY_ORDER.index) == WEEKLY_ORDER


async def test_sf_50_after_an_auth_failure_remaining_parts_fail_without_calling_salesforce(client, admin, sf):
    assert list(KINDS["daily"].parts) == DAILY_ORDER
    # the volunteers import (second part) is refused once; any later Salesforce call would succeed
    sf.admin.add_fault("invalid_session", object="Contact", times=1)
    sf.admin.clear_requests()

    run = await sync(client, admin["headers"], "daily")
    assert run["mode"] == "incremental" and run["status"] == "failed"
    # only the organizations and volunteers parts asked Salesforce anything
    assert _queried_objects(sf) == [DAILY_OBJECTS[kind] for kind in DAILY_ORDER[:2]]
    # every later part fails: with sf_auth_failed, or skipped when it depends on a failed part (OPS-3)
    assert [(p["kind"], p["status"], p["error_code"]) for p in run["parts"]] == [
        ("salesforce-organizations", "succeeded", None),
        ("salesforce-volunteers", "failed", "sf_auth_failed"),
        ("salesforce-events", "failed", "sf_auth_failed"),
        ("salesforce-history", "failed", "sf_auth_failed"),
    ]
    assert [(e["kind"], e["code"]) for e in run["errors"]] == [
        ("salesforce-volunteers", "sf_auth_failed"),
        ("salesforce-affiliations", "dependency_failed"),
        ("salesforce-events", "sf_auth_failed"),
        ("salesforce-volunteer-participations", "dependency_failed"),
        ("salesforce-history", "sf_auth_failed"),
    ]
    assert run["counts"]["parts_failed"] == 3 and run["counts"]["parts_skipped"] == 2
    # the request log ends with the refused request: nothing was asked of Salesforce after it
    requests = sf.admin.requests()
    assert requests and all(r["status"] == 200 for r in requests[:-1])
    assert (requests[-1]["status"], requests[-1]["object"]) == (401, "Contact")
    assert not any(r["object"] == "Contact" for r in requests[:-1])


async def test_ops_3_a_part_whose_parent_kind_failed_is_skipped_independent_parts_run(client, admin, sf):
    # 02 SF-17 parents of the daily parts (KINDS depends_on)
    depends = {kind: KINDS[kind].depends_on for kind in DAILY_ORDER}
    assert depends["salesforce-affiliations"] >= {"salesforce-volunteers", "salesforce-organizations"}
    assert depends["salesforce-volunteer-participations"] == {"salesforce-volunteers", "salesforce-events"}
    assert not depends["salesforce-events"] and not depends["salesforce-history"]

    async def daily_with_broken(broken_kind: str) -> tuple[dict[str, Any], list[str]]:
        """A daily run where Salesforce answers 500 to every query of the broken part's object
        (a manual run retries once, then the part fails ``sf_unavailable``); the parts that ran,
        in order, read from the double's request log."""
        sf.admin.clear_faults()
        sf.admin.add_fault(kind="http_500", endpoint="any", object=DAILY_OBJECTS[broken_kind], times=None)
        sf.admin.clear_requests()
        run = await sync(client, admin["headers"], "daily")
        assert run["trigger"] == "manual"
        broken = next(p for p in run["parts"] if p["kind"] == broken_kind)
        assert (broken["status"], broken["error_code"]) == ("failed", "sf_unavailable")
        refused = [r for r in sf.admin.requests() if r["status"] == 500]
        assert [r["object"] for r in refused] == [DAILY_OBJECTS[broken_kind]] * 2  # one retry
        by_object = {obj: kind for kind, obj in DAILY_OBJECTS.items()}
        objects = [obj for obj in _queried_objects(sf) if obj in by_object]
        return run, [by_object[obj] for obj in objects]

    # volunteers fail: both of its children are skipped, the independent parts still run
    run, calls = await daily_with_broken("salesforce-volunteers")
    ran = ["salesforce-organizations", "salesforce-volunteers", "salesforce-events", "salesforce-history"]
    assert calls == ran
    assert run["status"] == "failed"
    assert [e for e in run["errors"] if e["code"] == "dependency_failed"] == [
        {
            "kind": "salesforce-affiliations",
            "code": "dependency_failed",
            "depends_on": ["salesforce-volunteers"],
        },
        {
            "kind": "salesforce-volunteer-participations",
            "code": "dependency_failed",
            "depends_on": ["salesforce-volunteers"],
        },
    ]
    assert [(p["kind"], p["status"]) for p in run["parts"]] == [
        ("salesforce-organizations", "succeeded"),
        ("salesforce-volunteers", "failed"),
        ("salesforce-events", "succeeded"),
        ("salesforce-history", "succeeded"),
    ]
    assert run["counts"]["parts_skipped"] == 2

    # events fail: only volunteer participations depend on them; affiliations run
    run, calls = await daily_with_broken("salesforce-events")
    assert calls == [kind for kind in DAILY_ORDER if kind != "salesforce-volunteer-participations"]
    assert run["status"] == "failed"
    assert [e for e in run["errors"] if e["code"] == "dependency_failed"] == [
        {
            "kind": "salesforce-volunteer-participations",
            "code": "dependency_failed",
            "depends_on": ["salesforce-events"],
        }
    ]
    assert [(p["kind"], p["status"]) for p in run["parts"]] == [
        ("salesforce-organizations", "succeeded"),
        ("salesforce-volunteers", "succeeded"),
        ("salesforce-affiliations", "succeeded"),
        ("salesforce-events", "failed"),
        ("salesforce-history", "succeeded"),
    ]


# --------------------------------------------------------------------------------------------
# OPS-4 health


def _kind(health: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(k for k in health["kinds"] if k["kind"] == kind)


async def test_ops_4_health_lists_every_kind_and_tells_never_run_no_changes_failed_apart(client, admin, sf):
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    assert [k["kind"] for k in health["kinds"]] == list(KINDS)
    assert len(health["kinds"]) == 16
    publishing = _kind(health, PUB)
    assert publishing["state"] == "never_run" and publishing["stale"] is True
    assert publishing["available"] is True and publishing["stale_after_hours"] == 2
    assert _kind(health, "salesforce-volunteers")["available"] is True
    assert _kind(health, "salesforce-signup-push")["available"] is False
    assert _kind(health, "salesforce-signup-push")["state"] == "never_run"
    assert _kind(health, "pathful-sheet")["available"] is True
    assert _kind(health, "salesforce-districts-schools")["stale_after_hours"] == 192
    assert _kind(health, "pathful-sheet")["stale_after_hours"] == 336
    assert _kind(health, "daily")["composite"] is True and _kind(health, "daily")["stale"] is False
    assert health["status"] == "stale"

    sf.admin.replace("Session__c", [sf_session(1)])
    await sync(client, admin["headers"])
    assert (
        _kind((await client.get("/api/v1/sync/health", headers=admin["headers"])).json(), PUB)["state"]
        == "ok"
    )

    run = await sync(client, admin["headers"])
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    publishing = _kind(health, PUB)
    assert publishing["state"] == "no_changes" and publishing["stale"] is False
    assert publishing["last_run"]["id"] == run["id"]
    assert publishing["last_success_at"] == run["finished_at"]
    assert publishing["last_failure_at"] is None

    sf.admin.add_fault("http_500", times=None)
    failed = await sync(client, admin["headers"])
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    publishing = _kind(health, PUB)
    assert publishing["state"] == "failed"
    assert publishing["last_failure_at"] == failed["finished_at"]
    assert publishing["last_failure_reason"] == "sf_unavailable"
    assert publishing["last_success_at"] == run["finished_at"]  # still known
    assert health["status"] == "failed"


async def test_ops_4_stale_after_the_kinds_threshold(client, admin, session):
    for kind, hours_ago in ((PUB, 3), ("salesforce-districts-schools", 24 * 7)):
        at = utcnow() - dt.timedelta(hours=hours_ago)
        run = SyncRun(kind=kind, mode="full", trigger="schedule", status="succeeded", counts={"created": 1})
        run.created_at = run.started_at = run.finished_at = at
        session.add(run)
    await session.commit()
    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    assert _kind(health, PUB)["stale"] is True  # 3 h > 2 h
    assert _kind(health, PUB)["state"] == "ok"
    assert _kind(health, "salesforce-districts-schools")["stale"] is False  # 7 days < 8 days
    assert health["status"] == "stale"


# --------------------------------------------------------------------------------------------
# OPS-6 the scheduler's API key; CAP


async def test_ops_6_api_key_with_sync_run_triggers_and_reads_key_read_cannot(client, admin, sf):
    runner = await _key(client, admin, "sync:run")
    reader = await _key(client, admin, "read")
    sync_reader = await _key(client, admin, "sync:read")
    run = await sync(client, runner)
    assert run["trigger"] == "api" and run["requested_by_api_key_id"] is not None
    assert run["requested_by_id"] == admin["id"]  # the key acts for its owner
    scheduled = await sync(client, runner, trigger="schedule")
    assert scheduled["trigger"] == "schedule"
    assert (await client.get(f"/api/v1/sync/runs/{run['id']}", headers=runner)).status_code == 200
    assert (await client.get("/api/v1/sync/health", headers=sync_reader)).status_code == 200

    refused = await client.post(f"/api/v1/sync/{PUB}", params={"wait": "true"}, headers=reader)
    assert refused.status_code == 403
    assert (await client.post(f"/api/v1/sync/{PUB}", headers=sync_reader)).status_code == 403
    assert (await client.get("/api/v1/sync/runs", headers=reader)).status_code == 403


async def test_ops_6_only_an_api_key_may_record_a_scheduled_run(client, admin):
    response = await client.post(
        f"/api/v1/sync/{PUB}", params={"trigger": "schedule"}, headers=admin["headers"]
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_trigger"
    manual = await client.post(f"/api/v1/sync/{PUB}", params={"trigger": "manual"}, headers=admin["headers"])
    assert manual.status_code == 422  # not a choice at all


async def test_cap_district_user_cannot_trigger_or_read_syncs(client, make_user):
    district_user = await make_user(level=3 - 1, districts=[1])
    assert (await client.post(f"/api/v1/sync/{PUB}", headers=district_user["headers"])).status_code == 403
    assert (await client.get("/api/v1/sync/health", headers=district_user["headers"])).status_code == 403
    user = await make_user(level=0)
    assert (await client.get("/api/v1/sync/health", headers=user["headers"])).status_code == 200
