"""The hourly publishing sync (02 SF-40..SF-43, 03 PUB-1..PUB-4), driven through
``POST /api/v1/sync/salesforce-publishing?wait=true`` against the Salesforce test double over HTTPS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.events import Event, EventDistrict
from polaris_api.models.reference import District
from polaris_api.models.sync import DataQualityFlag, SyncRun
from polaris_api.services import sync_health
from polaris_api.sync.salesforce.publishing import SOQL
from tests.sync_helpers import local_today, session_id, sf_session, sync

KIND = "salesforce-publishing"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


async def _events(session) -> dict[str, Event]:
    session.expire_all()
    rows = (await session.execute(select(Event))).scalars().all()
    return {event.salesforce_id: event for event in rows}


async def _event(session, n: int) -> Event:
    session.expire_all()
    return (await session.execute(select(Event).where(Event.salesforce_id == session_id(n)))).scalar_one()


def _snapshot(event: Event) -> dict[str, Any]:
    return {
        column.key: getattr(event, column.key)
        for column in Event.__table__.columns
        if column.key not in ("updated_at", "_sentinel")
    }


# --------------------------------------------------------------------------------------------
# SF-41 query, SF-43 create


async def test_sf_41_exact_query_with_query_not_query_all_and_counts(client, admin, sf):
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2, slots=0)])
    run = await sync(client, admin["headers"])
    assert run["status"] == "succeeded"
    calls = [r for r in sf.admin.requests() if r["endpoint"] in ("query", "queryAll", "more")]
    assert [c["endpoint"] for c in calls] == ["query"]
    assert calls[0]["soql"] == SOQL
    assert run["counts"]["returned"] == 2
    assert run["counts"]["created"] == 1
    assert run["counts"]["not_created_full"] == 1
    assert run["counts"]["errors"] == 0
    assert run["effective_mode"] == "full"


async def test_pub_1_new_session_with_free_slots_created_active_with_sf_fields(client, admin, sf, session):
    day = local_today() + dt.timedelta(days=12)
    sf.admin.replace(
        "Session__c",
        [
            sf_session(
                1,
                days=12,
                slots=4.5,
                Name="  Career   Day  ",
                Start_Date_and_Time__c=f"{day.isoformat()} 09:00:00",  # naive: America/Chicago
                End_Date_and_Time__c=f"{day.isoformat()}T16:30:00.000+0000",
                Registration_Link__c='<a href="https://f.example/x?a=1&amp;b=2">Sign up</a>',
                Location_Information__c=" Room 1\r\nDoor B ",
                Session_Type__c="Virtual Session",
                Format__c=None,
            )
        ],
    )
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.source == "salesforce"
    assert event.title == "Career Day"
    assert event.available_slots == 5  # int0, half up
    assert event.filled_volunteer_jobs == 2
    assert event.start_day == day  # a calendar date, never shifted
    local_start = dt.datetime.combine(day, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    # 09:00 Chicago is 15:00 (CST) or 14:00 (CDT) UTC
    assert event.start_date.astimezone(dt.UTC).hour in (14, 15)
    assert event.start_date.tzinfo is not None and local_start.date() == day
    assert event.end_date == dt.datetime.combine(day, dt.time(16, 30), tzinfo=dt.UTC)
    assert event.duration == int((event.end_date - event.start_date).total_seconds() // 60)
    assert event.registration_link == "https://f.example/x?a=1&b=2"
    assert event.location == "Room 1\nDoor B"
    assert event.type == "virtual_session" and event.sf_session_type == "Virtual Session"
    assert event.format == "virtual"  # blank format of a virtual session
    assert event.status == "confirmed" and event.sf_status_raw == "Confirmed"
    assert event.date_time_display == sf.admin.records("Session__c")[0]["Date_and_Time_for_Cal__c"]
    assert event.publish_status == "active" and event.archived_reason is None
    assert event.display_on_website is True
    started = dt.datetime.fromisoformat(run["started_at"])
    assert event.publishing_first_seen_at == started
    assert event.publishing_last_seen_at == started  # SIGN-9
    assert event.sf_modstamp is not None and event.sf_last_seen_run_id == run["id"]


async def test_pub_1_draft_and_past_sessions_never_published(client, admin, sf, session):
    today = local_today()
    sf.admin.replace(
        "Session__c",
        [
            sf_session(1, days=-3),  # past
            sf_session(2, days=0),  # today: not after today
            sf_session(3, Session_Status__c="Draft"),
            sf_session(4, Session_Status__c="  draft "),  # slips through SOQL '!=', caught locally
            sf_session(5, days=3),
        ],
    )
    # the org's clock is two days behind (e.g. a wrong integration-user timezone): SF returns more
    sf.admin.set_clock(today=(today - dt.timedelta(days=2)).isoformat())
    run = await sync(client, admin["headers"])
    events = await _events(session)
    assert set(events) == {session_id(5)}
    assert run["counts"]["not_upcoming_or_draft"] == 2  # today's and the spaced draft
    assert run["status"] == "succeeded"


async def test_pub_1_full_session_on_first_sight_not_created(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1, slots=0), sf_session(2, slots=None)])
    run = await sync(client, admin["headers"])
    assert await _events(session) == {}
    assert run["counts"]["not_created_full"] == 2
    assert run["counts"]["created"] == 0


async def test_sf_43_row_from_events_import_full_is_updated_but_not_promoted(client, admin, sf, session):
    session.add(Event(salesforce_id=session_id(1), source="salesforce", title="Old name", available_slots=3))
    await session.commit()
    sf.admin.replace("Session__c", [sf_session(1, slots=0, Name="New name")])
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.title == "New name" and event.available_slots == 0
    assert event.publishing_first_seen_at is None and event.publish_status is None
    assert event.publishing_last_seen_at == dt.datetime.fromisoformat(run["started_at"])
    assert run["counts"]["updated"] == 1

    # later with free slots: first sighting as a publishing event
    sf.admin.upsert(
        "Session__c", [{"Id": session_id(1), "Available_Slots__c": 2, "Display_on_Website__c": "No"}]
    )
    await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.publishing_first_seen_at is not None
    assert event.publish_status == "active" and event.display_on_website is False


# --------------------------------------------------------------------------------------------
# PUB-2: archive / reactivate, keeping publishing fields


async def test_pub_2_session_becoming_full_archived_then_reactivated_with_note_display_links(
    client, admin, sf, session
):
    """PUB-2 with SF-44 archived_reason values full / null."""
    sf.admin.replace("Session__c", [sf_session(1, slots=3, Display_on_Website__c="No")])
    await sync(client, admin["headers"])
    event = await _event(session, 1)
    district = District(name="Kansas City Public Schools")
    session.add(district)
    await session.flush()
    district_id = district.id
    session.add(EventDistrict(event_id=event.id, district_id=district_id))
    event.note = "call the school first"
    event.display_on_website = True  # staff turned it on
    await session.commit()

    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Available_Slots__c": 0}])
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert (event.publish_status, event.archived_reason) == ("archived", "full")
    assert run["counts"]["archived"] == 1 and run["counts"]["archived_full"] == 1
    assert event.note == "call the school first" and event.display_on_website is True

    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Available_Slots__c": 4}])
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert (event.publish_status, event.archived_reason) == ("active", None)
    assert run["counts"]["reactivated"] == 1
    assert event.available_slots == 4
    assert event.note == "call the school first" and event.display_on_website is True
    links = (await session.execute(select(EventDistrict.district_id))).scalars().all()
    assert links == [district_id]


async def test_sf_43_not_returned_archived_not_in_salesforce_sf_fields_untouched(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2)])
    await sync(client, admin["headers"])
    before = _snapshot(await _event(session, 2))

    sf.admin.upsert("Session__c", [{"Id": session_id(2), "Session_Status__c": "Draft", "Name": "Renamed"}])
    run = await sync(client, admin["headers"])
    after = _snapshot(await _event(session, 2))
    assert (after["publish_status"], after["archived_reason"]) == ("archived", "not_in_salesforce")
    assert run["counts"]["archived_not_in_salesforce"] == 1
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"publish_status", "archived_reason"}  # title, status, last seen: untouched

    # an archived (not returned) event comes back with free slots: active again
    sf.admin.upsert("Session__c", [{"Id": session_id(2), "Session_Status__c": "Confirmed"}])
    run = await sync(client, admin["headers"])
    event = await _event(session, 2)
    assert (event.publish_status, event.archived_reason, event.title) == ("active", None, "Renamed")
    assert run["counts"]["reactivated"] == 1
    assert run["counts"]["archived"] == 0


async def test_sf_43_deleted_session_archived_and_soft_deleted_row_restored(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1)])
    await sync(client, admin["headers"])
    sf.admin.delete("Session__c", session_id(1))
    await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert (event.publish_status, event.archived_reason) == ("archived", "not_in_salesforce")
    event.is_deleted = True  # as the daily events import marks it (SF-11)
    event.deleted_in_source_at = dt.datetime.now(dt.UTC)
    event.deleted_in_source_reason = "deleted"
    await session.commit()

    records = sf.admin.records("Session__c")
    sf.admin.replace("Session__c", [{**records[0], "IsDeleted": False}])  # undeleted in SF
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.is_deleted is False and event.deleted_in_source_reason is None
    assert event.publish_status == "active"
    assert run["counts"]["restored"] == 1


# --------------------------------------------------------------------------------------------
# display_on_website: initialised once (PUB-1, SF-43)


async def test_pub_1_display_on_website_initialised_once_never_overwritten(client, admin, sf, session):
    sf.admin.replace(
        "Session__c",
        [
            sf_session(1, Display_on_Website__c=" yes "),
            sf_session(2, Display_on_Website__c="No"),
            sf_session(3, Display_on_Website__c=True),
            sf_session(4, Display_on_Website__c=None),
        ],
    )
    await sync(client, admin["headers"])
    events = await _events(session)
    assert [events[session_id(n)].display_on_website for n in (1, 2, 3, 4)] == [True, False, True, False]

    sf.admin.upsert(
        "Session__c",
        [
            {"Id": session_id(1), "Display_on_Website__c": "No"},
            {"Id": session_id(2), "Display_on_Website__c": "Yes"},
        ],
    )
    await sync(client, admin["headers"])
    events = await _events(session)
    assert events[session_id(1)].display_on_website is True
    assert events[session_id(2)].display_on_website is False


# --------------------------------------------------------------------------------------------
# PUB-4: a failed Salesforce call changes nothing


async def test_pub_4_sf_500_on_every_attempt_run_failed_and_every_event_unchanged(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2, slots=0), sf_session(3)])
    await sync(client, admin["headers"])
    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Available_Slots__c": 9}])
    before = {key: _snapshot(event) for key, event in (await _events(session)).items()}

    sf.admin.clear_requests()
    sf.admin.add_fault("http_500", endpoint="any", times=None)
    run = await sync(client, admin["headers"])  # a user: manual trigger, one immediate retry
    assert run["status"] == "failed"
    assert run["error_code"] == "sf_unavailable"
    assert run["trigger"] == "manual"
    assert [r["status"] for r in sf.admin.requests()] == [500, 500]
    after = {key: _snapshot(event) for key, event in (await _events(session)).items()}
    assert after == before

    health = (await client.get("/api/v1/sync/health", headers=admin["headers"])).json()
    publishing = next(k for k in health["kinds"] if k["kind"] == KIND)
    assert publishing["state"] == "failed" and publishing["last_failure_reason"] == "sf_unavailable"


async def test_sf_60_scheduled_trigger_by_api_key_retries_three_times(client, admin, sf):
    key = (
        await client.post(
            "/api/v1/api-keys", headers=admin["headers"], json={"name": "cron", "scopes": ["sync:run"]}
        )
    ).json()["key"]
    sf.admin.add_fault("http_503", endpoint="any", times=None)
    run = await sync(client, {"X-API-Key": key}, trigger="schedule")
    assert run["status"] == "failed" and run["trigger"] == "schedule"
    assert len([r for r in sf.admin.requests() if r["status"] == 503]) == 3


# --------------------------------------------------------------------------------------------
# Paging, validation, stale writes, flags


async def test_sf_41_more_than_2000_sessions_all_pages_synced(client, admin, sf, session):
    sf.admin.set_page_size(2000)
    sf.admin.replace("Session__c", [sf_session(n, days=1 + n % 90) for n in range(1, 2101)])
    run = await sync(client, admin["headers"])
    assert run["status"] == "succeeded"
    assert run["counts"]["returned"] == 2100 and run["counts"]["created"] == 2100
    assert [r["endpoint"] for r in sf.admin.requests() if r["status"] == 200][-2:] == ["query", "more"]
    session.expire_all()
    count = len((await session.execute(select(Event.id).where(Event.publish_status == "active"))).all())
    assert count == 2100

    run = await sync(client, admin["headers"])  # nothing changed: all unchanged, one query per chunk
    assert run["counts"]["unchanged"] == 2100 and run["counts"]["updated"] == 0


async def test_pub_3_missing_name_is_a_sync_error_listed_and_run_partial(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2, Name="   "), sf_session(3, Name=None)])
    run = await sync(client, admin["headers"])
    assert run["status"] == "partial"
    assert run["counts"]["errors"] == 2 and run["error_count"] == 2
    assert run["errors"] == [
        {
            "salesforce_id": session_id(2),
            "index": 1,
            "code": "missing_required_field",
            "missing_fields": ["Name"],
        },
        {
            "salesforce_id": session_id(3),
            "index": 2,
            "code": "missing_required_field",
            "missing_fields": ["Name"],
        },
    ]
    assert set(await _events(session)) == {session_id(1)}  # never published
    current = await sync_health.current_sync_errors(session)
    assert [item["salesforce_id"] for item in current] == [e["salesforce_id"] for e in run["errors"]]
    assert current[0]["fields"] == current[0]["missing_fields"] and current[0]["run_id"] == run["id"]

    # a failed run neither adds nor clears the current errors (PUB-4)
    sf.admin.add_fault("http_500", times=None)
    await sync(client, admin["headers"])
    assert [i["run_id"] for i in await sync_health.current_sync_errors(session)] == [run["id"]] * len(current)


async def test_sf_42_missing_name_of_a_publishing_event_archives_it(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1)])
    await sync(client, admin["headers"])
    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Name": ""}])
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert run["status"] == "partial"
    assert (event.publish_status, event.archived_reason) == ("archived", "not_in_salesforce")
    assert event.title == "Career day 1"


async def test_sf_10_stale_write_guard_older_record_never_overwrites_sf_fields(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1, Name="From SF")])
    await sync(client, admin["headers"])
    event = await _event(session, 1)
    newer = event.sf_modstamp + dt.timedelta(hours=1)
    event.sf_modstamp = newer  # the daily import wrote a newer version meanwhile
    event.title = "Newer title"
    await session.commit()

    sf.admin.upsert(
        "Session__c",
        [{"Id": session_id(1), "SystemModstamp": "2001-01-01T00:00:00.000+0000"}],
        keep_modstamps=True,
    )
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.title == "Newer title" and event.sf_modstamp == newer
    assert run["counts"]["unchanged"] == 1
    assert event.publishing_last_seen_at == dt.datetime.fromisoformat(run["started_at"])


async def test_sf_15_unknown_picklist_value_flagged_once_and_resolved_when_clean(client, admin, sf, session):
    sf.admin.replace(
        "Session__c",
        [sf_session(1, Session_Type__c="Robot Battle", Registration_Link__c="not a link")],
    )
    run = await sync(client, admin["headers"])
    event = await _event(session, 1)
    assert event.type == "other" and event.sf_session_type == "Robot Battle"
    assert event.registration_link is None
    await sync(client, admin["headers"])  # seen again: still one open flag per (code, record, field)
    flags = (await session.execute(select(DataQualityFlag).order_by(DataQualityFlag.code))).scalars().all()
    assert [(f.code, f.field, f.status, f.raw_value) for f in flags] == [
        ("invalid_registration_link", "Registration_Link__c", "open", "not a link"),
        ("unknown_picklist_value", "Session_Type__c", "open", "Robot Battle"),
    ]
    assert flags[1].entity_id == event.id and flags[1].vocabulary == "event_type"
    assert flags[1].salesforce_id == session_id(1) and flags[1].last_run_id != run["id"]

    sf.admin.upsert(
        "Session__c",
        [
            {
                "Id": session_id(1),
                "Session_Type__c": "Career Fair",
                "Registration_Link__c": "https://x.example/",
            }
        ],
    )
    await sync(client, admin["headers"])
    session.expire_all()
    statuses = (await session.execute(select(DataQualityFlag.status))).scalars().all()
    assert statuses == ["resolved", "resolved"]


async def test_sign_9_publishing_last_seen_at_is_the_run_start_for_every_returned_event(
    client, admin, sf, session
):
    session.add(Event(salesforce_id=session_id(2), source="salesforce", title="x", available_slots=0))
    await session.commit()
    sf.admin.replace("Session__c", [sf_session(1), sf_session(2, slots=0)])
    first = await sync(client, admin["headers"])
    second = await sync(client, admin["headers"])
    events = await _events(session)
    started = dt.datetime.fromisoformat(second["started_at"])
    assert started > dt.datetime.fromisoformat(first["started_at"])
    assert {e.publishing_last_seen_at for e in events.values()} == {started}
    run = await session.get(SyncRun, second["id"])
    assert run.started_at == started
