"""Kind ``salesforce-districts-schools`` (02 SF-24 with SF-6..SF-12, SF-17, SF-19), driven through
``POST /api/v1/sync/salesforce-districts-schools?wait=true`` against the test double."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.reference import District, School
from polaris_api.models.sync import DataQualityFlag, SfWatermark
from tests.sync_helpers import account_id, sync

KIND = "salesforce-districts-schools"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)  # several batches per object


def district(n: int, name: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"Id": account_id(n), "Name": name or f"District {n}", "Type": "School District", **fields}


def school(n: int, parent: int | None, name: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "Id": account_id(n),
        "Name": name or f"School {n}",
        "Type": "School",
        "ParentId": account_id(parent) if parent else None,
        "School_Code_External_ID__c": f"S{n}",
        "Connector_Account_Name__c": f"Alt {n}",
        **fields,
    }


async def _rows(session, table):
    statement = select(table).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_24_full_import_reads_districts_then_schools_and_links_parents(client, admin, sf, session):
    sf.admin.replace(
        "Account",
        [
            district(1, "Kansas City Public Schools", School_Code_External_ID__c="048078"),
            district(2, "  North   Kansas City "),
            school(10, 1),
            school(11, 2),
            school(12, None),
            {"Id": account_id(20), "Name": "Acme Corp", "Type": "Business"},  # an organization
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["effective_mode"] == "full"
    assert run["counts"]["districts_read"] == 2 and run["counts"]["schools_read"] == 3
    assert run["counts"]["created"] == 5
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert soql == [
        "SELECT Id, SystemModstamp, IsDeleted, Name, School_Code_External_ID__c FROM Account "
        "WHERE (Type = 'School District') ORDER BY SystemModstamp ASC, Id ASC",
        "SELECT Id, SystemModstamp, IsDeleted, Name, School_Code_External_ID__c, ParentId, "
        "Connector_Account_Name__c FROM Account WHERE (Type = 'School') ORDER BY SystemModstamp ASC, Id ASC",
    ]
    districts = await _rows(session, District)
    schools = await _rows(session, School)
    kcps = districts[account_id(1)]
    assert (kcps.name, kcps.district_code, kcps.slug) == (
        "Kansas City Public Schools",
        "048078",
        "kansas-city-public-schools",
    )
    assert districts[account_id(2)].name == "North Kansas City"  # trimmed, collapsed
    assert schools[account_id(10)].district_id == kcps.id
    assert schools[account_id(10)].district_salesforce_id == account_id(1)
    assert (schools[account_id(10)].school_code, schools[account_id(10)].alt_name) == ("S10", "Alt 10")
    assert schools[account_id(12)].district_id is None
    assert all(row.sf_last_seen_run_id == run["id"] for row in [*districts.values(), *schools.values()])
    marks = {w.sf_object: w.watermark for w in (await session.execute(select(SfWatermark))).scalars()}
    records = {r["Id"]: r for r in sf.admin.records("Account")}
    assert marks["Account:district"] == dt.datetime.fromisoformat(records[account_id(2)]["SystemModstamp"])
    assert marks["Account:school"] == dt.datetime.fromisoformat(records[account_id(12)]["SystemModstamp"])


async def test_sf_8_incremental_reads_from_the_watermark_and_advances_it(client, admin, sf, session):
    sf.admin.replace("Account", [district(1), district(2), school(10, 1), school(11, 1)])
    first = await sync(client, admin["headers"], KIND)
    assert first["mode"] == "incremental" and first["effective_mode"] == "full"  # no watermark yet (SF-6)
    watermark = dt.datetime.fromisoformat(first["watermarks"]["Account:school"]["after"])

    sf.admin.upsert("Account", [{"Id": account_id(11), "Name": "School Eleven"}])
    sf.admin.clear_requests()
    second = await sync(client, admin["headers"], KIND)
    assert second["effective_mode"] == "incremental"
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert "AND SystemModstamp >= " in soql[1]
    assert second["counts"]["schools_read"] == 2  # the boundary record (>=) and the changed one
    assert second["counts"]["updated"] == 1 and second["counts"]["unchanged"] >= 1
    assert dt.datetime.fromisoformat(second["watermarks"]["Account:school"]["before"]) == watermark
    assert dt.datetime.fromisoformat(second["watermarks"]["Account:school"]["after"]) > watermark
    schools = await _rows(session, School)
    assert schools[account_id(11)].name == "School Eleven"
    assert second["watermark_after"] >= second["watermark_before"]


async def test_sf_24_adopts_a_row_without_sf_id_with_the_same_name(client, admin, sf, session):
    polaris = District(name="Kansas City Public Schools", aliases=["KCPS"])
    session.add(polaris)
    await session.flush()
    local_school = School(name="Central High", district_id=polaris.id, level="high")
    other_district_school = School(name="Central High", district_id=None)
    session.add_all([local_school, other_district_school])
    await session.commit()
    ids = (polaris.id, local_school.id, other_district_school.id)

    sf.admin.replace("Account", [district(1, "kansas city  PUBLIC schools"), school(10, 1, "CENTRAL HIGH")])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["adopted"] == 2 and run["counts"]["created"] == 0
    districts = await _rows(session, District)
    schools = await _rows(session, School)
    assert districts[account_id(1)].id == ids[0] and districts[account_id(1)].aliases == ["KCPS"]
    assert districts[account_id(1)].name == "kansas city PUBLIC schools"  # SF owns the name
    assert schools[account_id(10)].id == ids[1] and schools[account_id(10)].level == "high"
    assert schools[None].id == ids[2]  # another district's school is not adopted


async def test_sf_11_deleted_account_soft_deleted_then_restored(client, admin, sf, session):
    sf.admin.replace("Account", [district(1), school(10, 1)])
    await sync(client, admin["headers"], KIND)
    sf.admin.delete("Account", account_id(10))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 1
    row = (await _rows(session, School))[account_id(10)]
    assert row.is_deleted and row.deleted_in_source_reason == "deleted" and row.deleted_in_source_at

    sf.admin.upsert("Account", [{"Id": account_id(10), "IsDeleted": False}])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["restored"] == 1
    row = (await _rows(session, School))[account_id(10)]
    assert not row.is_deleted and row.deleted_in_source_reason is None


async def test_sf_12_full_snapshot_soft_deletes_unseen_rows_with_mass_absence_brake(
    client, admin, sf, session
):
    sf.admin.replace("Account", [district(n) for n in range(1, 4)])
    await sync(client, admin["headers"], KIND)
    sf.admin.replace("Account", [district(1), district(2)], keep_modstamps=True)  # 3 purged
    incremental = await sync(client, admin["headers"], KIND)
    assert incremental["counts"]["deleted_in_source"] == 0  # only a full run can tell
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["deleted_in_source"] == 1
    row = (await _rows(session, District))[account_id(3)]
    assert row.is_deleted and row.deleted_in_source_reason == "absent_from_full_snapshot"

    # more than max(50, 5 %) live rows missing: nothing deleted, flag, partial
    session.add_all(District(name=f"Ghost {n}", salesforce_id=account_id(100 + n)) for n in range(51))
    await session.commit()
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "partial"
    assert run["errors"][0]["code"] == "mass_absence" and run["errors"][0]["absent"] == 51
    assert sum(1 for row in (await _rows(session, District)).values() if row.is_deleted) == 1
    flags = (await session.execute(select(DataQualityFlag))).scalars().all()
    assert [(f.code, f.entity_type, f.status) for f in flags] == [("mass_absence", "district", "open")]
    await sync(client, admin["headers"], KIND, mode="full")  # still one open flag
    assert len((await session.execute(select(DataQualityFlag.id))).all()) == 1


async def test_sf_17_unknown_parent_flagged_then_linked_by_the_resolver(client, admin, sf, session):
    sf.admin.replace(  # 11 holds the watermark, a day after 10: 10 is not re-read
        "Account",
        [
            school(10, 1, SystemModstamp="2020-01-01T00:00:00.000+0000"),
            school(11, None, SystemModstamp="2020-01-02T00:00:00.000+0000"),
        ],
        keep_modstamps=True,
    )
    run = await sync(client, admin["headers"], KIND)
    row = (await _rows(session, School))[account_id(10)]
    assert row.district_id is None and row.district_salesforce_id == account_id(1)
    flag = (await session.execute(select(DataQualityFlag))).scalar_one()
    assert (flag.code, flag.field, flag.entity_id, flag.raw_value) == (
        "unresolved_reference",
        "ParentId",
        row.id,
        account_id(1),
    )
    assert run["status"] == "succeeded"  # an optional reference is not an error

    sf.admin.upsert("Account", [district(1)])  # the district appears; the school is not re-read
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["links_resolved"] == 1
    row = (await _rows(session, School))[account_id(10)]
    district_row = (await _rows(session, District))[account_id(1)]
    assert row.district_id == district_row.id
    assert (await session.execute(select(DataQualityFlag.status))).scalar_one() == "resolved"


async def test_sf_19_missing_name_rejected_and_run_partial(client, admin, sf, session):
    sf.admin.replace("Account", [district(1), district(2, Name=None) | {"Name": " "}, school(10, 1)])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "partial"
    assert run["errors"] == [
        {
            "salesforce_id": account_id(2),
            "sf_object": "Account:district",
            "index": 1,
            "code": "missing_required_field",
            "fields": ["Name"],
        }
    ]
    assert set(await _rows(session, District)) == {account_id(1)}


async def test_sf_10_stale_write_guard_for_accounts(client, admin, sf, session):
    sf.admin.replace("Account", [district(1, "From SF")])
    await sync(client, admin["headers"], KIND)
    row = (await _rows(session, District))[account_id(1)]
    row.sf_modstamp = row.sf_modstamp + dt.timedelta(days=1)
    row.name = "Newer"
    await session.commit()
    sf.admin.upsert("Account", [{"Id": account_id(1), "Name": "Older"}])
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert (await _rows(session, District))[account_id(1)].name == "Newer"
    assert run["counts"]["unchanged"] == 1


async def test_sf_24_same_name_districts_get_distinct_slugs(client, admin, sf, session):
    sf.admin.replace("Account", [district(1, "Lincoln"), district(2, "Lincoln")])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded"
    assert sorted(d.slug for d in (await _rows(session, District)).values()) == ["lincoln", "lincoln-2"]


async def test_sf_60_mid_stream_failure_requeries_from_the_watermark(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Account", [district(n) for n in range(1, 6)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=2, times=2)  # both attempts of page 3
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded"
    assert len(await _rows(session, District)) == 5
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert len(soql) == 3 and "SystemModstamp >= " in soql[1]
