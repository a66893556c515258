"""Kind ``salesforce-affiliations`` (02 SF-31, SF-17/SF-18), through
``POST /api/v1/sync/salesforce-affiliations?wait=true`` against the Salesforce test double."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.people import VolunteerAffiliation
from polaris_api.models.reference import District, Organization, School
from polaris_api.models.sync import SfPendingRecord
from tests.sync_helpers import account_id, contact_id, sync

KIND = "salesforce-affiliations"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def affiliation_id(n: int) -> str:
    return f"a0A{n:012d}AAA"


def contact(n: int, kind: str | None = "Volunteer") -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": kind,
        "FirstName": "F",
        "LastName": f"L{n}",
        "Email": f"v{n}@x.org",
    }


def affiliation(n: int, contact_n: int, account_n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": affiliation_id(n),
        "npe5__Contact__c": contact_id(contact_n),
        "npe5__Organization__c": account_id(account_n),
        "npe5__Role__c": "Mentor",
        "npe5__Primary__c": True,
        "npe5__Status__c": "Current",
        "npe5__StartDate__c": "2024-09-01",
        **fields,
    }


ACCOUNTS = [
    {"Id": account_id(1), "Name": "Acme", "Type": "Business"},
    {"Id": account_id(2), "Name": "Central High", "Type": "School"},
    {"Id": account_id(3), "Name": "KCPS", "Type": "School District"},
]


async def _setup(client, admin, sf, contacts=(1, 2, 3)) -> None:
    sf.admin.replace("Account", ACCOUNTS)
    sf.admin.replace("Contact", [contact(n) for n in contacts] + [contact(9, "Teacher")])
    for kind in ("salesforce-districts-schools", "salesforce-organizations", "salesforce-volunteers"):
        assert (await sync(client, admin["headers"], kind))["status"] == "succeeded"


async def _rows(session) -> dict[str, VolunteerAffiliation]:
    statement = select(VolunteerAffiliation).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_31_account_resolved_as_organization_school_or_district(client, admin, sf, session):
    await _setup(client, admin, sf)
    sf.admin.replace(
        "npe5__Affiliation__c",
        [
            affiliation(1, 1, 1),
            affiliation(2, 2, 2),
            affiliation(3, 3, 3, npe5__Status__c="Former"),
            affiliation(4, 9, 1),
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 3  # the teacher's is filtered out
    soql = [r["soql"] for r in sf.admin.requests() if "npe5__Affiliation__c" in (r.get("soql") or "")]
    assert "WHERE (npe5__Contact__r.Contact_Type__c = 'Volunteer' OR " in soql[-1]
    rows = await _rows(session)
    org = (await session.execute(select(Organization))).scalar_one()
    school = (await session.execute(select(School))).scalar_one()
    district = (await session.execute(select(District))).scalar_one()
    one = rows[affiliation_id(1)]
    assert (one.organization_id, one.school_id, one.district_id) == (org.id, None, None)
    assert (one.role, one.is_primary, one.status, str(one.start_date)) == (
        "Mentor",
        True,
        "current",
        "2024-09-01",
    )
    assert (rows[affiliation_id(2)].school_id, rows[affiliation_id(3)].district_id) == (
        school.id,
        district.id,
    )
    assert rows[affiliation_id(3)].status == "past"
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 3)


async def test_sf_18_affiliation_waits_for_its_volunteer_then_resolves(client, admin, sf, session):
    await _setup(client, admin, sf, contacts=(1,))
    sf.admin.replace(
        "npe5__Affiliation__c", [affiliation(1, 1, 1), affiliation(2, 2, 1), affiliation(3, 1, 77)]
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["pending"] == 2 and run["counts"]["created"] == 1
    pending = {p.salesforce_id: p for p in (await session.execute(select(SfPendingRecord))).scalars()}
    assert pending[affiliation_id(2)].reason == "unknown_volunteer"
    assert pending[affiliation_id(3)].reason == "unknown_account"
    sf.admin.upsert("Contact", [contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers")
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["pending_resolved"] == 1
    assert set(await _rows(session)) == {affiliation_id(1), affiliation_id(2)}


async def test_sf_11_deleted_affiliation_and_incremental_reads_only_edits(client, admin, sf, session):
    await _setup(client, admin, sf)
    sf.admin.replace(
        "npe5__Affiliation__c",
        [affiliation(n, n, 1, SystemModstamp=f"2020-01-0{n}T00:00:00.000+0000") for n in (1, 2, 3)],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    sf.admin.upsert("npe5__Affiliation__c", [{"Id": affiliation_id(1), "npe5__Role__c": "Board"}])
    sf.admin.delete("npe5__Affiliation__c", affiliation_id(2))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["read"] == 3  # the boundary record, the edited one and the deleted one
    assert (run["counts"]["updated"], run["counts"]["deleted_in_source"]) == (1, 1)
    rows = await _rows(session)
    assert rows[affiliation_id(1)].role == "Board" and rows[affiliation_id(2)].is_deleted


async def test_sf_9_failure_mid_run_then_resumed(client, admin, sf, session):
    await _setup(client, admin, sf, contacts=tuple(range(1, 8)))
    sf.admin.set_page_size(2)
    sf.admin.replace("npe5__Affiliation__c", [affiliation(n, n, 1) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [affiliation_id(n) for n in range(1, 8)]


async def test_sf_18_pending_row_abandoned_after_max_attempts_and_seven_days_with_orphan_flag(
    client, admin, sf, session
):
    import datetime as dt

    from polaris_api.models.sync import DataQualityFlag

    await _setup(client, admin, sf, contacts=(1,))
    sf.admin.replace("npe5__Affiliation__c", [affiliation(1, 2, 1)])  # contact 2 never arrives
    await sync(client, admin["headers"], KIND)
    pending = (await session.execute(select(SfPendingRecord))).scalar_one()
    pending.attempts = 9  # salesforce_pending_max_attempts is 10
    pending.first_queued_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    await session.commit()
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["pending_abandoned"] == 1
    await session.refresh(pending)
    assert (pending.status, pending.attempts) == ("abandoned", 10)
    flag = (await session.execute(select(DataQualityFlag))).scalar_one()
    assert (flag.code, flag.salesforce_id, flag.status) == ("orphan_reference", affiliation_id(1), "open")

    # a deleted record whose pending row exists: the row becomes discarded (SF-11)
    sf.admin.replace("npe5__Affiliation__c", [affiliation(2, 3, 1)])
    await sync(client, admin["headers"], KIND)
    sf.admin.delete("npe5__Affiliation__c", affiliation_id(2))
    await sync(client, admin["headers"], KIND)
    rows = {p.salesforce_id: p.status for p in (await session.execute(select(SfPendingRecord))).scalars()}
    assert rows[affiliation_id(2)] == "discarded"
