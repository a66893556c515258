"""Kind ``salesforce-classes`` (02 SF-30), through ``POST /api/v1/sync/salesforce-classes?wait=true``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from polaris_api.models.reference import School, SchoolClass
from tests.sync_helpers import account_id, sync

KIND = "salesforce-classes"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def class_id(n: int) -> str:
    return f"a0C{n:012d}AAA"


async def _rows(session) -> dict[str, SchoolClass]:
    statement = select(SchoolClass).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_30_full_import_reimport_incremental_delete_and_school_link(client, admin, sf, session):
    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "Central", "Type": "School"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    sf.admin.replace(
        "Class__c",
        [
            {
                "Id": class_id(1),
                "Name": "Class of 2027",
                "School__c": account_id(1),
                "Class_Year_Number__c": 2027,
                "SystemModstamp": "2020-01-01T00:00:00.000+0000",
            },
            {
                "Id": class_id(2),
                "Name": "Class of 2028",
                "School__c": account_id(2),
                "Class_Year_Number__c": "2028",
                "SystemModstamp": "2020-01-02T00:00:00.000+0000",
            },
            {"Id": class_id(3), "Name": "Class of 2029", "SystemModstamp": "2020-01-03T00:00:00.000+0000"},
        ],
        keep_modstamps=True,
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 3
    rows = await _rows(session)
    school = (await session.execute(select(School))).scalar_one()
    assert (rows[class_id(1)].school_id, rows[class_id(1)].class_year) == (school.id, 2027)
    assert (rows[class_id(2)].school_id, rows[class_id(2)].school_salesforce_id) == (None, account_id(2))
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"]) == (0, 0)

    sf.admin.upsert("Class__c", [{"Id": class_id(1), "Name": "Seniors"}])
    sf.admin.delete("Class__c", class_id(3))
    run = await sync(client, admin["headers"], KIND)
    assert (
        run["counts"]["read"] == 2
        and run["counts"]["updated"] == 1
        and run["counts"]["deleted_in_source"] == 1
    )
    rows = await _rows(session)
    assert rows[class_id(1)].name == "Seniors" and rows[class_id(3)].is_deleted


async def test_sf_9_failure_mid_run_then_resumed(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Class__c", [{"Id": class_id(n), "Name": f"C{n}"} for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [class_id(n) for n in range(1, 8)]
