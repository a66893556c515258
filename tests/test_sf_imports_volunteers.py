"""Kind ``salesforce-volunteers`` (02 SF-26, SF-27, SF-6..SF-19, 00 R2), driven through
``POST /api/v1/sync/salesforce-volunteers?wait=true`` against the Salesforce test double."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.people import (
    Volunteer,
    VolunteerEmail,
    VolunteerPhone,
    VolunteerSfContact,
    VolunteerSkill,
)
from polaris_api.models.reference import Skill
from polaris_api.models.sync import DataQualityFlag, SfWatermark
from tests.sync_helpers import contact_id, sync

KIND = "salesforce-volunteers"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


def contact(n: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": contact_id(n),
        "Contact_Type__c": "Volunteer",
        "FirstName": f"First{n}",
        "LastName": f"Last{n}",
        "Email": f"person{n}@example.org",
    }
    record.update(fields)
    return record


async def _all(session, table):
    return (await session.execute(select(table).execution_options(populate_existing=True))).scalars().all()


async def _volunteer_of(session, n: int) -> Volunteer:
    link = (
        await session.execute(
            select(VolunteerSfContact)
            .where(VolunteerSfContact.salesforce_id == contact_id(n))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return (
        await session.execute(
            select(Volunteer)
            .where(Volunteer.id == link.volunteer_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def test_sf_26_full_import_maps_profile_emails_phones_skills_and_demographics(
    client, admin, sf, session
):
    """SF-26, SF-27 and the SF-14 transforms (email, phone e164, split, enum)."""
    sf.admin.replace("Account", [{"Id": "001000000000001AAA", "Name": "Acme Corp", "Type": "Business"}])
    sf.admin.replace(
        "Contact",
        [
            contact(
                1,
                FirstName="  Ada ",
                MiddleName="K",
                Title="Engineer",
                npsp__Primary_Affiliation__c="001000000000001AAA",
                Gender__c="Female",
                Racial_Ethnic_Background__c="White; Asian",
                Birthdate="1980-02-03",
                Volunteer_Skills__c="Welding; Python",
                Volunteer_Skills_Text__c="python, Public speaking",
                Volunteer_Interests__c="STEM;Arts",
                Number_of_Attended_Volunteer_Sessions__c=4.5,
                DoNotCall=True,
                Email=" Ada@Example.org ",
                npe01__WorkEmail__c="ada@work.example.com",
                npe01__Preferred_Email__c="Work",
                MobilePhone="(816) 555-0101",
                Phone="816-555-0102",
                MailingCity="Kansas City",
            ),
            contact(2, Contact_Type__c=None),  # blank type counts as a volunteer
            contact(3, Contact_Type__c="Teacher"),  # not this kind
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run["errors"]
    assert run["counts"]["created"] == 2 and run["counts"]["read"] == 2
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert len(soql) == 1 and soql[0].startswith(
        "SELECT Id, SystemModstamp, IsDeleted, Contact_Type__c, MasterRecordId"
    )
    assert soql[0].endswith(
        "FROM Contact WHERE (Contact_Type__c = 'Volunteer' OR Contact_Type__c = '' OR Contact_Type__c = null)"
        " ORDER BY SystemModstamp ASC, Id ASC"
    )
    ada = await _volunteer_of(session, 1)
    assert (ada.first_name, ada.last_name, ada.middle_name, ada.title) == ("Ada", "Last1", "K", "Engineer")
    assert ada.organization_name == "Acme Corp"
    assert ada.primary_affiliation_salesforce_id == "001000000000001AAA"
    assert (ada.gender, ada.race_ethnicity, ada.is_people_of_color) == ("female", "two_or_more", True)
    assert str(ada.birthdate) == "1980-02-03" and ada.interests == ["STEM", "Arts"]
    assert ada.sf_times_volunteered == 5 and ada.do_not_call is True and ada.mailing_city == "Kansas City"
    assert ada.email_normalized == "ada@work.example.com"  # the preferred (Work) email is primary
    emails = {e.email_normalized: e for e in await _all(session, VolunteerEmail) if e.volunteer_id == ada.id}
    assert {k: (e.kind, e.is_primary, e.sf_source_id) for k, e in emails.items()} == {
        "ada@work.example.com": ("work", True, contact_id(1)),
        "ada@example.org": ("personal", False, contact_id(1)),
    }
    phones = {p.number: p for p in await _all(session, VolunteerPhone) if p.volunteer_id == ada.id}
    assert {k: (p.kind, p.is_primary, p.e164) for k, p in phones.items()} == {
        "(816) 555-0101": ("mobile", False, "+18165550101"),
        "816-555-0102": ("other", True, "+18165550102"),  # no preferred phone: Phone is primary
    }
    skills = {s.id: s.name for s in await _all(session, Skill)}
    links = [link for link in await _all(session, VolunteerSkill) if link.volunteer_id == ada.id]
    assert sorted(skills[link.skill_id] for link in links) == ["Public speaking", "Python", "Welding"]
    assert all(link.sf_source_id == contact_id(1) for link in links)
    assert len(await _all(session, Volunteer)) == 2
    mark = (await session.execute(select(SfWatermark))).scalar_one()
    assert mark.sf_object == "Contact:volunteer" and mark.kind == KIND


async def test_sf_8_reimport_changes_nothing_and_incremental_touches_only_edited(client, admin, sf, session):
    sf.admin.replace(
        "Contact",
        [contact(n, SystemModstamp=f"2020-01-0{n}T00:00:00.000+0000") for n in range(1, 6)],
        keep_modstamps=True,
    )
    first = await sync(client, admin["headers"], KIND)
    assert first["effective_mode"] == "full" and first["counts"]["created"] == 5

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    assert again["counts"]["unchanged"] == 5

    sf.admin.upsert("Contact", [{"Id": contact_id(3), "LastName": "Renamed"}])
    sf.admin.clear_requests()
    inc = await sync(client, admin["headers"], KIND)
    assert inc["effective_mode"] == "incremental"
    soql = [r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll"]
    assert "AND SystemModstamp >= " in soql[0]
    assert inc["counts"]["updated"] == 1 and inc["counts"]["created"] == 0
    assert inc["counts"]["read"] <= 2  # the boundary record (>=) and the edited one
    assert (await _volunteer_of(session, 3)).last_name == "Renamed"
    assert len(await _all(session, Volunteer)) == 5


async def test_r2_same_email_different_case_is_one_volunteer_with_two_contacts(client, admin, sf, session):
    sf.admin.replace(
        "Contact",
        [
            contact(1, Email="Pat@Example.org", FirstName="Pat"),
            contact(2, Email="  pat@example.ORG", FirstName="Patricia"),
        ],
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded" and run["counts"]["created"] == 1
    volunteers = await _all(session, Volunteer)
    assert len(volunteers) == 1 and volunteers[0].email_normalized == "pat@example.org"
    assert volunteers[0].first_name == "Patricia"  # the newest contact writes
    links = await _all(session, VolunteerSfContact)
    assert sorted((link.salesforce_id, link.link_method) for link in links) == [
        (contact_id(1), "new"),
        (contact_id(2), "email"),
    ]
    assert {link.volunteer_id for link in links} == {volunteers[0].id}
    assert len(await _all(session, VolunteerEmail)) == 1
    flags = await _all(session, DataQualityFlag)
    assert [(f.code, f.entity_id) for f in flags] == [("multiple_sf_contacts", volunteers[0].id)]

    # one contact deleted: the volunteer stays; both deleted: the volunteer is deleted (SF-26)
    sf.admin.delete("Contact", contact_id(1))
    await sync(client, admin["headers"], KIND)
    assert not (await _volunteer_of(session, 2)).is_deleted
    sf.admin.delete("Contact", contact_id(2))
    await sync(client, admin["headers"], KIND)
    assert (await _volunteer_of(session, 2)).is_deleted


async def test_sf_11_deleted_and_merged_contacts_soft_delete_and_restore(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1), contact(2), contact(3)])
    await sync(client, admin["headers"], KIND)
    sf.admin.delete("Contact", contact_id(1))
    sf.admin.upsert("Contact", [{"Id": contact_id(2), "IsDeleted": True, "MasterRecordId": contact_id(3)}])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 2
    gone = await _volunteer_of(session, 1)
    assert gone.is_deleted and gone.deleted_in_source_reason == "deleted"
    merged = await _volunteer_of(session, 2)
    assert merged.is_deleted and merged.deleted_in_source_reason == "merged"
    link = (
        await session.execute(
            select(VolunteerSfContact).where(VolunteerSfContact.salesforce_id == contact_id(2))
        )
    ).scalar_one()
    assert link.master_record_id == contact_id(3) and link.deleted_in_source_reason == "merged"
    assert [f.code for f in await _all(session, DataQualityFlag)] == ["sf_contact_merged"]

    sf.admin.upsert("Contact", [{"Id": contact_id(1), "IsDeleted": False}])
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["restored"] == 1
    assert not (await _volunteer_of(session, 1)).is_deleted


async def test_sf_13_polaris_owned_fields_and_rows_survive_an_import(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1, Volunteer_Skills__c="Welding")])
    await sync(client, admin["headers"], KIND)
    volunteer = await _volunteer_of(session, 1)
    volunteer.notes = "great with kids"
    volunteer.local_status, volunteer.local_status_source = "local", "manual"  # a staff override (VOC-6)
    volunteer.exclude_from_reports = True
    volunteer.pathful_user_id = "pf-1"
    volunteer.recruitment_notes = "call in May"
    session.add(
        VolunteerEmail(
            volunteer_id=volunteer.id,
            email="home@example.net",
            email_normalized="home@example.net",
            kind="personal",
            source="website",
        )
    )
    await session.commit()
    sf.admin.upsert("Contact", [{"Id": contact_id(1), "LastName": "Changed", "Volunteer_Skills__c": None}])
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["counts"]["updated"] == 1
    volunteer = await _volunteer_of(session, 1)
    assert volunteer.last_name == "Changed"
    assert (volunteer.notes, volunteer.local_status, volunteer.exclude_from_reports) == (
        "great with kids",
        "local",
        True,
    )
    assert (volunteer.pathful_user_id, volunteer.recruitment_notes) == ("pf-1", "call in May")
    assert sorted(e.email_normalized for e in await _all(session, VolunteerEmail)) == [
        "home@example.net",
        "person1@example.org",
    ]
    assert await _all(session, VolunteerSkill) == []  # the contact's own skill link was replaced


async def test_sf_15_unknown_picklist_invalid_email_and_all_caps_flags(client, admin, sf, session):
    sf.admin.replace(
        "Contact",
        [contact(1, Gender__c="Martian", npe01__WorkEmail__c="not-an-email", LastName="SMITH")],
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "succeeded"
    flags = {(f.code, f.field): f for f in await _all(session, DataQualityFlag)}
    assert set(flags) == {
        ("unknown_picklist_value", "Gender__c"),
        ("invalid_email", "npe01__WorkEmail__c"),
        ("all_caps_name", "LastName"),
    }
    assert flags[("unknown_picklist_value", "Gender__c")].raw_value == "Martian"
    sf.admin.upsert(
        "Contact",
        [{"Id": contact_id(1), "Gender__c": "Male", "npe01__WorkEmail__c": None, "LastName": "Smith"}],
    )
    await sync(client, admin["headers"], KIND)
    assert {f.status for f in await _all(session, DataQualityFlag)} == {"resolved"}


async def test_sf_19_missing_last_name_rejected_run_partial(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1), contact(2, LastName=" ")])
    run = await sync(client, admin["headers"], KIND)
    assert run["status"] == "partial"
    assert run["errors"] == [
        {
            "salesforce_id": contact_id(2),
            "sf_object": "Contact:volunteer",
            "index": 1,
            "code": "missing_required_field",
            "fields": ["LastName"],
        }
    ]
    assert len(await _all(session, Volunteer)) == 1


async def test_sf_12_full_snapshot_soft_deletes_absent_contacts(client, admin, sf, session):
    sf.admin.replace("Contact", [contact(1), contact(2)])
    await sync(client, admin["headers"], KIND)
    sf.admin.replace("Contact", [contact(1)], keep_modstamps=True)
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["counts"]["deleted_in_source"] == 1
    gone = await _volunteer_of(session, 2)
    assert gone.is_deleted and gone.deleted_in_source_reason == "absent_from_full_snapshot"
    assert not (await _volunteer_of(session, 1)).is_deleted


async def test_sf_9_failure_mid_run_rolls_back_then_resumes_without_gaps_or_duplicates(
    client, admin, sf, session
):
    sf.admin.set_page_size(2)
    sf.admin.replace("Contact", [contact(n) for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and failed["error_code"] == "sf_unavailable"
    committed = len(await _all(session, Volunteer))
    assert committed == 2  # the first page's batch was committed with its watermark
    mark = (await session.execute(select(SfWatermark))).scalar_one()
    records = {r["Id"]: r for r in sf.admin.records("Contact")}
    assert mark.watermark.isoformat().startswith(records[contact_id(2)]["SystemModstamp"][:19])

    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["effective_mode"] == "incremental"
    assert resumed["counts"]["created"] == 5
    volunteers = await _all(session, Volunteer)
    assert len(volunteers) == 7 and len({v.email_normalized for v in volunteers}) == 7
    assert len(await _all(session, VolunteerSfContact)) == 7


async def test_sf_9_a_record_the_database_refuses_is_isolated_and_the_batch_goes_on(
    app, client, admin, sf, session, monkeypatch
):
    # a contact deleted in Salesforce soft-deletes its volunteer, who keeps the unique
    # ``volunteer.email_normalized``; a new contact re-created with that email then violates it
    sf.admin.replace("Contact", [contact(1, Email="shared@example.org")])
    await sync(client, admin["headers"], KIND)
    sf.admin.delete("Contact", contact_id(1))
    await sync(client, admin["headers"], KIND)
    assert (await _volunteer_of(session, 1)).is_deleted
    # contact 2 also has an all-caps name: the flag it would raise once its id is known must
    # go with the refused record, not land on the next one's flush
    sf.admin.upsert("Contact", [contact(2, Email="shared@example.org", LastName="SMITH"), contact(3)])
    monkeypatch.setattr(app.state.settings, "salesforce_batch_size", 10)
    run = await sync(client, admin["headers"], KIND)  # one batch: contacts 1 (deleted), 2, 3
    assert run["status"] == "partial"
    assert run["errors"] == [
        {"salesforce_id": contact_id(2), "sf_object": "Contact:volunteer", "index": 1, "code": "db_conflict"}
    ]
    assert run["counts"]["read"] == 3 and run["counts"]["created"] == 1
    assert (await _volunteer_of(session, 3)).email_normalized == "person3@example.org"
    links = {link.salesforce_id for link in await _all(session, VolunteerSfContact)}
    assert links == {contact_id(1), contact_id(3)}
    assert [f.code for f in await _all(session, DataQualityFlag) if f.code == "all_caps_name"] == []
    mark = (await session.execute(select(SfWatermark))).scalar_one()
    records = {r["Id"]: r for r in sf.admin.records("Contact")}
    assert mark.watermark.isoformat().startswith(records[contact_id(3)]["SystemModstamp"][:19])


@pytest.mark.committed_db  # counts the engine's own statements: no test savepoints in between
async def test_scale_1_round_trips_per_batch_are_bounded(app, client, admin, sf, monkeypatch):
    """09 SCALE-1: a batch costs a fixed number of statements, whatever its size: new
    volunteers, their contact links, emails, phones, skills and flags are each written in one
    multi-row statement per table (on SQLite too, through the insert sentinel), and a clean batch
    issues no per-record savepoints (SF-9 isolation is only the fallback)."""
    from sqlalchemy import event

    monkeypatch.setattr(app.state.settings, "salesforce_batch_size", 300)
    statements = savepoints = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements, savepoints
        statements += "sync_run" not in statement  # the run's status polling and heartbeats vary
        savepoints += statement.lstrip().upper().startswith("SAVEPOINT")

    def rich_contact(n: int) -> dict[str, Any]:
        return contact(
            n,
            LastName=f"LAST{n}",  # all caps: an all_caps_name flag per record
            npe01__HomeEmail__c=f"home{n}@example.org",
            Phone=f"816-555-{n:04d}",
            Volunteer_Skills__c="Welding;Nursing",
        )

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
    try:
        cost = {}
        for size, first in ((20, 1), (300, 1001)):
            sf.admin.replace("Contact", [rich_contact(n) for n in range(first, first + size)])
            statements = 0
            run = await sync(client, admin["headers"], KIND, mode="full")
            assert run["status"] == "succeeded" and run["counts"]["created"] == size
            cost[size] = statements
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
    # 15x the records, the same statements give or take the run's own bookkeeping
    assert cost[300] <= cost[20] + 5, cost
    assert savepoints == 0
