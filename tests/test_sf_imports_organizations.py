"""Kind ``salesforce-organizations`` (02 SF-25 with SF-6..SF-19), through
``POST /api/v1/sync/salesforce-organizations?wait=true`` against the Salesforce test double."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.reference import Organization
from polaris_api.models.sync import DataQualityFlag
from tests.sync_helpers import account_id, sync

KIND = "salesforce-organizations"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def org(n: int, **fields: Any) -> dict[str, Any]:
    return {"Id": account_id(n), "Name": f"Org {n}", "Type": "Business", **fields}


async def _rows(session) -> dict[str, Organization]:
    statement = select(Organization).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_25_full_import_filters_types_maps_fields_and_flags_missing_type(client, admin, sf, session):
    sf.admin.replace(
        "Account",
        [
            org(
                1,
                Description=" Builds things\r\nand more ",
                BillingStreet="1 Main St",
                BillingCity="Kansas City",
                BillingState="MO",
                BillingPostalCode="64105",
                BillingCountry="USA",
                LastActivityDate="2025-03-04",
            ),
            org(2, Type=None),  # a null Type is an organization
            org(3, Type="Household"),
            org(4, Type="School"),
            org(5, Type="School District"),
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert soql == [
        "SELECT Id, SystemModstamp, IsDeleted, Name, Type, Description, ParentId, BillingStreet, BillingCity, "
        "BillingState, BillingPostalCode, BillingCountry, LastActivityDate FROM Account WHERE (Type NOT IN "
        "('Household', 'School District', 'School')) ORDER BY SystemModstamp ASC, Id ASC"
    ]
    rows = await _rows(session)
    one = rows[account_id(1)]
    assert (one.name, one.type, one.description) == ("Org 1", "Business", "Builds things\nand more")
    assert (one.billing_city, one.billing_postal_code, str(one.last_activity_date)) == (
        "Kansas City",
        "64105",
        "2025-03-04",
    )
    flags = (await session.execute(select(DataQualityFlag))).scalars().all()
    assert [(f.code, f.entity_id) for f in flags] == [("missing_organization_type", rows[account_id(2)].id)]


async def test_sf_8_reimport_is_unchanged_and_incremental_reads_only_edits(client, admin, sf, session):
    sf.admin.replace(
        "Account",
        [org(n, SystemModstamp=f"2020-01-0{n}T00:00:00.000+0000") for n in range(1, 5)],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 4)
    sf.admin.upsert("Account", [{"Id": account_id(2), "Name": "Org Two"}])
    inc = await sync(client, admin["headers"], KIND)
    assert inc["effective_mode"] == "incremental" and inc["counts"]["read"] == 2
    assert inc["counts"]["updated"] == 1
    assert (await _rows(session))[account_id(2)].name == "Org Two"


async def test_sf_17_parent_read_later_is_linked_by_the_resolver(client, admin, sf, session):
    sf.admin.replace(
        "Account",
        [org(2, ParentId=account_id(1), SystemModstamp="2020-01-01T00:00:00.000+0000")],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    child = (await _rows(session))[account_id(2)]
    assert child.parent_id is None and child.parent_salesforce_id == account_id(1)
    assert (await session.execute(select(DataQualityFlag.code))).scalar_one() == "unresolved_reference"
    sf.admin.upsert("Account", [org(1)])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["links_resolved"] == 1
    rows = await _rows(session)
    assert rows[account_id(2)].parent_id == rows[account_id(1)].id
    assert (await session.execute(select(DataQualityFlag.status))).scalar_one() == "resolved"


async def test_sf_17_parent_created_earlier_in_the_same_batch_is_linked_without_a_flag(
    client, admin, sf, session
):
    """The batch is flushed once (SCALE-1), so a parent new in the batch has no id yet when its
    child is read: the child is linked to it through the relationship."""
    sf.admin.replace("Account", [org(1), org(2, ParentId=account_id(1))])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2
    rows = await _rows(session)
    assert rows[account_id(2)].parent_id == rows[account_id(1)].id is not None
    assert (await session.execute(select(DataQualityFlag))).scalars().all() == []


async def test_sf_11_deleted_account_soft_deleted_and_sf_13_polaris_fields_survive(
    client, admin, sf, session
):
    sf.admin.replace("Account", [org(1), org(2)])
    await sync(client, admin["headers"], KIND)
    row = (await _rows(session))[account_id(1)]
    row.aliases = ["ACME"]
    row.notes = "key partner"
    session.add(Organization(name="Local only"))
    await session.commit()
    sf.admin.upsert("Account", [{"Id": account_id(1), "Name": "Renamed"}])
    sf.admin.delete("Account", account_id(2))
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["counts"]["deleted_in_source"] == 1 and run["counts"]["updated"] == 1
    rows = await _rows(session)
    assert (rows[account_id(1)].name, rows[account_id(1)].aliases, rows[account_id(1)].notes) == (
        "Renamed",
        ["ACME"],
        "key partner",
    )
    assert rows[account_id(2)].is_deleted and rows[account_id(2)].deleted_in_source_reason == "deleted"
    assert rows[None].name == "Local only" and not rows[None].is_deleted  # never touched


async def test_sf_9_failure_mid_run_then_resumed_nothing_skipped_or_duplicated(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Account", [org(n) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed"
    assert len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [account_id(n) for n in range(1, 8)]
