"""Kind ``salesforce-volunteer-participations`` (02 SF-33, SF-17/SF-18 pending queue, SF-50
daily composite), through ``POST /api/v1/sync/...?wait=true`` against the Salesforce test double."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.events import Event, EventParticipation
from polaris_api.models.people import Volunteer, VolunteerSfContact
from polaris_api.models.sync import DataQualityFlag, SfPendingRecord
from tests.sync_helpers import contact_id, session_id, sf_session, sync

KIND = "salesforce-volunteer-participations"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def participant_id(n: int) -> str:
    return f"a0P{n:012d}AAA"


def contact(n: int) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Volunteer",
        "FirstName": f"F{n}",
        "LastName": f"L{n}",
        "Email": f"v{n}@example.org",
    }


def participant(n: int, contact_n: int, session_n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": participant_id(n),
        "Participant_Type__c": "Volunteer",
        "Contact__c": contact_id(contact_n),
        "Session__c": session_id(session_n),
        "Status__c": "Attended",
        "Delivery_Hours__c": 2.5,
        "Age_Group__c": "30-39",
        "Title__c": "Engineer",
        "Email__c": f"V{contact_n}@Example.org",
        **fields,
    }


async def _parents(client, admin, sf, contacts=(1, 2, 3), sessions=(1, 2)) -> None:
    sf.admin.replace("Contact", [contact(n) for n in contacts])
    sf.admin.replace("Session__c", [sf_session(n) for n in sessions])
    assert (await sync(client, admin["headers"], "salesforce-volunteers"))["status"] == "succeeded"
    assert (await sync(client, admin["headers"], "salesforce-events"))["status"] == "succeeded"


async def _rows(session) -> dict[str | None, EventParticipation]:
    statement = select(EventParticipation).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_33_full_import_maps_participants_and_skips_students(client, admin, sf, session):
    await _parents(client, admin, sf)
    sf.admin.replace(
        "Session_Participant__c",
        [
            participant(1, 1, 1),
            participant(2, 2, 1, Status__c="No Show"),
            participant(3, 3, 2) | {"Participant_Type__c": "Student"},
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2
    soql = [r["soql"] for r in sf.admin.requests() if "Session_Participant__c" in (r.get("soql") or "")]
    assert soql[-1] == (
        "SELECT Id, SystemModstamp, IsDeleted, Participant_Type__c, Contact__c, Session__c, Status__c, "
        "Delivery_Hours__c, Age_Group__c, Title__c, Email__c FROM Session_Participant__c "
        "WHERE (Participant_Type__c = 'Volunteer') ORDER BY SystemModstamp ASC, Id ASC"
    )
    rows = await _rows(session)
    one = rows[participant_id(1)]
    assert (one.status, one.sf_status_raw, one.delivery_hours, one.email, one.source) == (
        "attended",
        "Attended",
        2.5,
        "v1@example.org",
        "salesforce",
    )
    assert (one.participant_type, one.contact_salesforce_id, one.title) == (
        "volunteer",
        contact_id(1),
        "Engineer",
    )
    assert rows[participant_id(2)].status == "no_show"

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 2)


async def test_sf_18_child_before_parent_waits_in_the_pending_queue_then_resolves(client, admin, sf, session):
    await _parents(client, admin, sf, contacts=(1,), sessions=(1,))
    sf.admin.replace("Session_Participant__c", [participant(1, 1, 1), participant(2, 2, 1)])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded" and run["counts"]["pending"] == 1 and run["counts"]["created"] == 1
    pending = (await session.execute(select(SfPendingRecord))).scalar_one()
    assert (pending.kind, pending.salesforce_id, pending.status, pending.reason) == (
        KIND,
        participant_id(2),
        "pending",
        "unknown_volunteer",
    )
    assert pending.missing_refs == [{"sf_field": "Contact__c", "salesforce_id": contact_id(2)}]

    again = await sync(client, admin["headers"], KIND)  # still missing: attempts + 1
    assert again["counts"]["pending_resolved"] == 0
    await session.refresh(pending)
    assert pending.attempts >= 1 and pending.status == "pending"

    sf.admin.upsert("Contact", [contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    sf.admin.clear_requests()
    run = await sync(client, admin["headers"], KIND)  # the participant is not re-read: the sweep does it
    assert run["counts"]["pending_resolved"] == 1
    await session.refresh(pending)
    assert pending.status == "resolved"
    rows = await _rows(session)
    assert set(rows) == {participant_id(1), participant_id(2)}
    assert len(rows) == 2  # nothing duplicated


async def test_sf_33_adopts_a_website_signup_row_for_the_same_pair(client, admin, sf, session):
    await _parents(client, admin, sf, contacts=(1,), sessions=(1,))
    event = (await session.execute(select(Event))).scalar_one()
    volunteer = (await session.execute(select(Volunteer))).scalar_one()
    website = EventParticipation(
        event_id=event.id,
        volunteer_id=volunteer.id,
        participant_type="volunteer",
        status="registered",
        source="website",
    )
    session.add(website)
    await session.commit()
    website_id = website.id
    sf.admin.replace("Session_Participant__c", [participant(1, 1, 1)])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["adopted"] == 1 and run["counts"]["created"] == 0
    rows = await _rows(session)
    assert list(rows) == [participant_id(1)] and rows[participant_id(1)].id == website_id
    assert rows[participant_id(1)].status == "attended"


async def test_sf_33_duplicate_pair_merges_by_voc_13_rank_with_flag(client, admin, sf, session):
    await _parents(client, admin, sf, contacts=(1,), sessions=(1,))
    sf.admin.replace(
        "Session_Participant__c",
        [participant(1, 1, 1, Status__c="Registered"), participant(2, 1, 1, Status__c="Attended")],
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded"
    rows = await _rows(session)
    assert list(rows) == [participant_id(2)]  # the higher status won and keeps its salesforce_id
    assert rows[participant_id(2)].status == "attended"
    flag = (await session.execute(select(DataQualityFlag))).scalar_one()
    assert flag.code == "duplicate_participation" and flag.details["salesforce_ids"] == [
        participant_id(1),
        participant_id(2),
    ]
    await sync(client, admin["headers"], KIND, mode="full")  # re-import: still one row, one flag
    assert len(await _rows(session)) == 1
    assert len((await session.execute(select(DataQualityFlag))).scalars().all()) == 1


async def test_sf_11_deleted_participant_soft_deleted_and_sf_19_null_contact_rejected(
    client, admin, sf, session
):
    await _parents(client, admin, sf)
    sf.admin.replace("Session_Participant__c", [participant(1, 1, 1), participant(2, 2, 1)])
    await sync(client, admin["headers"], KIND)
    sf.admin.delete("Session_Participant__c", participant_id(1))
    sf.admin.upsert("Session_Participant__c", [participant(3, 3, 1) | {"Contact__c": None}])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "partial" and run["counts"]["deleted_in_source"] == 1
    assert run["errors"][0]["code"] == "missing_required_field" and run["errors"][0]["fields"] == [
        "Contact__c"
    ]
    row = (await _rows(session))[participant_id(1)]
    assert row.is_deleted and row.deleted_in_source_reason == "deleted"


async def test_sf_9_failure_mid_run_then_resumed_nothing_skipped_or_duplicated(client, admin, sf, session):
    await _parents(client, admin, sf, contacts=tuple(range(1, 8)), sessions=(1,))
    sf.admin.set_page_size(2)
    sf.admin.replace("Session_Participant__c", [participant(n, n, 1) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [participant_id(n) for n in range(1, 8)]


async def test_sf_50_daily_composite_runs_its_parts_in_dependency_order(client, admin, sf, session):
    sf.admin.replace("Account", [{"Id": "001000000000009AAA", "Name": "Acme", "Type": "Business"}])
    sf.admin.replace("Contact", [contact(1)])
    sf.admin.replace("Session__c", [sf_session(1)])
    sf.admin.replace("Session_Participant__c", [participant(1, 1, 1)])
    run = await sync(client, admin["headers"], "daily")
    parts = [p["kind"] for p in run["parts"]]
    assert parts == [
        "salesforce-organizations",
        "salesforce-volunteers",
        "salesforce-affiliations",
        "salesforce-events",
        "salesforce-volunteer-participations",
        "salesforce-history",
    ]
    assert run["status"] == "succeeded" and run["mode"] == "incremental"
    assert all(p["status"] == "succeeded" for p in run["parts"])
    assert len(await _rows(session)) == 1
    links = (await session.execute(select(VolunteerSfContact))).scalars().all()
    assert len(links) == 1


async def test_sf_50_weekly_composite_runs_every_import_in_order_then_reimport_adds_nothing(
    client, admin, sf, session
):
    sf.admin.replace("Contact", [contact(1)])
    sf.admin.replace("Session__c", [sf_session(1)])
    sf.admin.replace("Session_Participant__c", [participant(1, 1, 1)])
    run = await sync(client, admin["headers"], "weekly")
    assert run["status"] == "succeeded" and run["counts"]["parts_run"] == 11
    assert [p["kind"] for p in run["parts"]][:3] == [
        "salesforce-districts-schools",
        "salesforce-organizations",
        "salesforce-volunteers",
    ]
    again = await sync(client, admin["headers"], "weekly")
    assert again["status"] == "succeeded"
    for part in again["parts"]:
        child = (await client.get(f"/api/v1/sync/runs/{part['id']}", headers=admin["headers"])).json()
        assert child["counts"].get("created", 0) == 0, part["kind"]
    assert len(await _rows(session)) == 1
