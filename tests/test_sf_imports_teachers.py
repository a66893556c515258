"""Kind ``salesforce-teachers`` (02 SF-28), through ``POST /api/v1/sync/salesforce-teachers?wait=true``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.people import Teacher, TeacherEmail, TeacherPhone
from polaris_api.models.reference import School
from tests.sync_helpers import account_id, contact_id, sync

KIND = "salesforce-teachers"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def teacher(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Teacher",
        "FirstName": "T",
        "LastName": f"Teacher{n}",
        "Email": f"T{n}@School.org",
        "Phone": "816 555 0100",
        "Gender__c": "Male",
        "Title": "Science",
        **fields,
    }


async def _rows(session) -> dict[str | None, Teacher]:
    statement = select(Teacher).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def test_sf_28_full_import_adopts_by_email_and_keeps_polaris_fields(client, admin, sf, session):
    roster = Teacher(
        first_name="Tee", last_name="Roster", email_normalized="t1@school.org", import_source="roster"
    )
    roster.notes = "from the roster"
    roster.pathful_user_id = "pf-9"
    session.add(roster)
    await session.commit()
    roster_id = roster.id
    sf.admin.replace(
        "Contact",
        [
            teacher(1),
            teacher(2, npsp__Primary_Affiliation__c=account_id(5)),
            teacher(3) | {"Contact_Type__c": "Volunteer"},
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["adopted"] == 1 and run["counts"]["created"] == 1
    rows = await _rows(session)
    adopted = rows[contact_id(1)]
    assert adopted.id == roster_id and adopted.last_name == "Teacher1"
    assert (adopted.import_source, adopted.notes, adopted.pathful_user_id) == (
        "roster",
        "from the roster",
        "pf-9",
    )
    new = rows[contact_id(2)]
    assert (new.import_source, new.gender, new.title, new.email_normalized) == (
        "salesforce",
        "male",
        "Science",
        "t2@school.org",
    )
    assert new.school_id is None and new.school_salesforce_id == account_id(5)
    emails = (
        (await session.execute(select(TeacherEmail).where(TeacherEmail.teacher_id == new.id))).scalars().all()
    )
    assert [(e.email_normalized, e.is_primary, e.sf_source_id) for e in emails] == [
        ("t2@school.org", True, contact_id(2))
    ]
    phones = (
        (await session.execute(select(TeacherPhone).where(TeacherPhone.teacher_id == new.id))).scalars().all()
    )
    assert [(p.number, p.kind, p.e164) for p in phones] == [("816 555 0100", "work", "+18165550100")]
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 2)

    # the school appears: the link resolver fills school_id
    sf.admin.replace("Account", [{"Id": account_id(5), "Name": "Central", "Type": "School"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    await sync(client, admin["headers"], KIND)  # resolved in the batch or by the link resolver
    school = (await session.execute(select(School))).scalar_one()
    assert (await _rows(session))[contact_id(2)].school_id == school.id


async def test_sf_11_deleted_teacher_and_incremental_reads_only_edits(client, admin, sf, session):
    sf.admin.replace(
        "Contact",
        [teacher(n, SystemModstamp=f"2020-01-0{n}T00:00:00.000+0000") for n in (1, 2, 3)],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    sf.admin.upsert("Contact", [{"Id": contact_id(1), "Email": "new@school.org"}])
    sf.admin.delete("Contact", contact_id(2))
    run = await sync(client, admin["headers"], KIND)
    assert (
        run["counts"]["read"] == 3
        and run["counts"]["updated"] == 1
        and run["counts"]["deleted_in_source"] == 1
    )
    rows = await _rows(session)
    assert rows[contact_id(1)].email_normalized == "new@school.org" and rows[contact_id(2)].is_deleted
    emails = (
        await session.execute(select(TeacherEmail).where(TeacherEmail.teacher_id == rows[contact_id(1)].id))
    ).scalars()
    assert [e.email_normalized for e in emails] == ["new@school.org"]  # its own old row replaced


async def test_sf_9_failure_mid_run_then_resumed(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Contact", [teacher(n) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [contact_id(n) for n in range(1, 8)]
