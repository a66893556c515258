"""Kind ``salesforce-students`` (02 SF-29), through ``POST /api/v1/sync/salesforce-students?wait=true``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.people import Student
from polaris_api.models.reference import SchoolClass
from polaris_api.models.sync import DataQualityFlag
from tests.sync_helpers import account_id, contact_id, sync

KIND = "salesforce-students"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def student(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Student",
        "FirstName": "S",
        "LastName": f"Student{n}",
        "Local_Student_ID__c": f"K-{n}",
        "Current_Grade__c": "K",
        "Gender__c": "Female",
        "Racial_Ethnic_Background__c": "Asian",
        "Birthdate": "2012-05-06",
        **fields,
    }


async def _rows(session) -> dict[str, Student]:
    statement = select(Student).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_29_full_import_grades_flags_and_class_link(client, admin, sf, session):
    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "Central", "Type": "School"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    sf.admin.replace("Class__c", [{"Id": "a0C000000000001AAA", "Name": "2027", "School__c": account_id(1)}])
    await sync(client, admin["headers"], "salesforce-classes")
    sf.admin.replace(
        "Contact",
        [
            student(1, npsp__Primary_Affiliation__c=account_id(1), Class__c="a0C000000000001AAA"),
            student(2, Current_Grade__c="13"),
            student(3, Current_Grade__c=" 7 "),
            student(4) | {"Contact_Type__c": "Teacher"},
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 3
    rows = await _rows(session)
    one = rows[contact_id(1)]
    klass = (await session.execute(select(SchoolClass))).scalar_one()
    assert (one.current_grade, one.student_id, one.gender, one.race_ethnicity) == (
        0,
        "K-1",
        "female",
        "asian",
    )
    assert one.class_id == klass.id and one.school_id == klass.school_id
    assert (rows[contact_id(2)].current_grade, rows[contact_id(3)].current_grade) == (None, 7)
    flags = (await session.execute(select(DataQualityFlag))).scalars().all()
    assert [(f.code, f.entity_id, f.raw_value) for f in flags] == [
        ("invalid_grade", rows[contact_id(2)].id, "13")
    ]
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 3)
    sf.admin.delete("Contact", contact_id(3))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 1 and (await _rows(session))[contact_id(3)].is_deleted


async def test_sf_9_failure_mid_run_then_resumed(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Contact", [student(n) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [contact_id(n) for n in range(1, 8)]
