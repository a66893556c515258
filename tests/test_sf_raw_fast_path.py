"""Issue 13 item 5: the raw fast path of the Salesforce imports (engine ``RawScreen``).

Before a batch is parsed, records whose SystemModstamp equals their live row's ``sf_modstamp``
(SF-7: Salesforce moves the stamp with every change) and whose references resolve to the rows the
row points to are set aside unparsed: counted ``unchanged`` (SF-10) and marked seen for the full
snapshot (SF-12). Everything else takes the full path: a changed stamp is written (SF-10), a
soft-deleted row is restored (SF-11), a reference unresolved when the row was written is linked
and its flag resolved (SF-17), a required parent gone sends the record to the pending queue
(SF-18)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from polaris_api.models.comms import Communication
from polaris_api.models.events import EventStudentParticipation
from polaris_api.models.people import Student, Volunteer, VolunteerSfContact
from polaris_api.models.sync import DataQualityFlag, SfPendingRecord
from tests.sync_helpers import account_id, contact_id, session_id, sf_session, sync

STUDENTS = "salesforce-students"
PARTICIPATIONS = "salesforce-student-participations"


@pytest.fixture
def settings(sf_app_settings, request):
    return sf_app_settings(salesforce_batch_size=3, **getattr(request, "param", {}))


def student(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Student",
        "FirstName": "S",
        "LastName": f"Student{n}",
        "Current_Grade__c": "5",
        **fields,
    }


async def _students(session) -> dict[str, Student]:
    statement = select(Student).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars()}


def _stored(sf, n: int) -> dict[str, Any]:
    return next(r for r in sf.admin.records("Contact") if r["Id"] == contact_id(n))


async def test_sf_10_same_modstamp_is_set_aside_unparsed_a_new_one_is_written(client, admin, sf, session):
    sf.admin.replace("Contact", [student(n) for n in range(1, 6)])
    first = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert first["counts"]["created"] == 5
    before = await _students(session)
    updated_at = {k: r.updated_at for k, r in before.items()}

    # same SystemModstamp, different values: Salesforce never does this, so the record is taken
    # as unchanged without being read; even a value the parser would refuse is not looked at
    same_stamp = _stored(sf, 1) | {"LastName": "Not read", "Birthdate": "not a date"}
    # a new SystemModstamp: written
    sf.admin.upsert("Contact", [same_stamp], keep_modstamps=True)
    sf.admin.upsert("Contact", [{"Id": contact_id(2), "LastName": "Renamed"}])
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert run["status"] == "succeeded", run
    counts = run["counts"]
    assert (counts["read"], counts["unchanged"], counts["updated"], counts["created"]) == (5, 4, 1, 0)
    assert counts["deleted_in_source"] == 0 and not run["errors"]
    rows = await _students(session)
    assert rows[contact_id(1)].last_name == "Student1" and rows[contact_id(1)].birthdate is None
    assert rows[contact_id(2)].last_name == "Renamed"
    assert rows[contact_id(1)].updated_at == updated_at[contact_id(1)]
    # nothing is written for a record set aside, not even the seen mark; the written one has it
    assert rows[contact_id(1)].sf_last_seen_run_id == first["id"]
    assert rows[contact_id(2)].sf_last_seen_run_id == run["id"]


@pytest.mark.parametrize("settings", [{"salesforce_skip_unchanged": False}], indirect=True)
async def test_sf_10_skip_unchanged_off_parses_every_record_so_a_new_mapping_reaches_old_rows(
    client, admin, sf, session
):
    """POLARIS_SALESFORCE_SKIP_UNCHANGED=false (one full run after a release maps a field it did
    not map before): a record with the stored SystemModstamp is parsed and compared again, so a
    value the row does not hold yet is written; a record whose values match is still unchanged."""
    sf.admin.replace("Contact", [student(n) for n in range(1, 3)])
    first = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert first["counts"]["created"] == 2
    # stands in for a newly mapped value: the same stamp, a value the row does not hold
    sf.admin.upsert("Contact", [_stored(sf, 1) | {"LastName": "Mapped anew"}], keep_modstamps=True)
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert run["status"] == "succeeded", run
    assert (run["counts"]["updated"], run["counts"]["unchanged"]) == (1, 1)
    rows = await _students(session)
    assert rows[contact_id(1)].last_name == "Mapped anew"
    assert rows[contact_id(2)].last_name == "Student2"


async def test_sf_12_rows_set_aside_count_as_seen_by_the_snapshot(client, admin, sf, session):
    sf.admin.replace("Contact", [student(n) for n in range(1, 8)])
    first = await sync(client, admin["headers"], STUDENTS, mode="full")
    kept = [r for r in sf.admin.records("Contact") if r["Id"] != contact_id(5)]
    sf.admin.replace("Contact", kept, keep_modstamps=True)
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert (run["counts"]["unchanged"], run["counts"]["deleted_in_source"]) == (6, 1), run["counts"]
    rows = await _students(session)
    assert [k for k, r in rows.items() if r.is_deleted] == [contact_id(5)]
    assert rows[contact_id(5)].deleted_in_source_reason == "absent_from_full_snapshot"
    assert {r.sf_last_seen_run_id for r in rows.values()} == {first["id"]}
    # an incremental run has no snapshot: nothing is deleted, whatever it read
    sf.admin.upsert("Contact", [{"Id": contact_id(1), "LastName": "Renamed"}])
    inc = await sync(client, admin["headers"], STUDENTS, mode="incremental")
    assert inc["counts"]["deleted_in_source"] == 0 and inc["counts"]["updated"] == 1
    assert sum(r.is_deleted for r in (await _students(session)).values()) == 1


async def test_sf_11_a_snapshot_deleted_row_with_the_same_modstamp_is_restored(client, admin, sf, session):
    sf.admin.replace("Contact", [student(n) for n in range(1, 4)])
    await sync(client, admin["headers"], STUDENTS, mode="full")
    kept = [r for r in sf.admin.records("Contact") if r["Id"] != contact_id(2)]
    gone = _stored(sf, 2)
    sf.admin.replace("Contact", kept, keep_modstamps=True)
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert run["counts"]["deleted_in_source"] == 1
    assert (await _students(session))[contact_id(2)].is_deleted

    sf.admin.replace("Contact", [*kept, gone], keep_modstamps=True)  # back, stamp unchanged
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert (run["counts"]["restored"], run["counts"]["unchanged"]) == (1, 2), run["counts"]
    row = (await _students(session))[contact_id(2)]
    assert not row.is_deleted and row.deleted_in_source_reason is None


async def test_sf_17_a_reference_unresolved_when_written_is_linked_by_the_record_itself(
    client, admin, sf, session
):
    sf.admin.replace("Contact", [student(1, npsp__Primary_Affiliation__c=account_id(1)), student(2)])
    first = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert first["counts"]["created"] == 2
    row = (await _students(session))[contact_id(1)]
    assert row.school_id is None and row.school_salesforce_id == account_id(1)
    flag = (await session.execute(select(DataQualityFlag))).scalar_one()
    assert (flag.code, flag.status, flag.field) == (
        "unresolved_reference",
        "open",
        "npsp__Primary_Affiliation__c",
    )

    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "Central", "Type": "School"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    run = await sync(client, admin["headers"], STUDENTS, mode="full")
    counts = run["counts"]
    # the record's stamp did not change, but its reference now resolves: not set aside, written
    # by the record (the end-of-run link resolver finds nothing left to link)
    assert (counts["updated"], counts["unchanged"], counts["links_resolved"]) == (1, 1, 0), counts
    row = (await _students(session))[contact_id(1)]
    assert row.school_id is not None
    flag = (
        await session.execute(select(DataQualityFlag).execution_options(populate_existing=True))
    ).scalar_one()
    assert flag.status == "resolved"

    again = await sync(client, admin["headers"], STUDENTS, mode="full")
    assert (again["counts"]["unchanged"], again["counts"]["updated"]) == (2, 0)


async def test_sf_18_a_participation_whose_student_is_gone_is_not_set_aside(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1)])
    assert (await sync(client, admin["headers"], "salesforce-events"))["status"] == "succeeded"
    sf.admin.replace("Contact", [student(n) for n in range(1, 4)])
    await sync(client, admin["headers"], STUDENTS, mode="full")
    participants = [
        {
            "Id": f"a0P{n:012d}AAA",
            "Participant_Type__c": "Student",
            "Contact__c": contact_id(n),
            "Session__c": session_id(1),
            "Status__c": "Attended",
        }
        for n in range(1, 4)
    ]
    sf.admin.replace("Session_Participant__c", participants)
    first = await sync(client, admin["headers"], PARTICIPATIONS, mode="full")
    assert first["counts"]["created"] == 3
    again = await sync(client, admin["headers"], PARTICIPATIONS, mode="full")
    assert (again["counts"]["unchanged"], again["counts"]["pending"]) == (3, 0)

    sf.admin.delete("Contact", contact_id(2))
    await sync(client, admin["headers"], STUDENTS, mode="full")
    run = await sync(client, admin["headers"], PARTICIPATIONS, mode="full")
    counts = run["counts"]
    assert (counts["unchanged"], counts["pending"]) == (2, 1), counts
    pending = (await session.execute(select(SfPendingRecord))).scalar_one()
    assert (pending.salesforce_id, pending.reason) == ("a0P000000000002AAA", "unknown_student")
    rows = (await session.execute(select(EventStudentParticipation))).scalars().all()
    assert len(rows) == 3


def volunteer_contact(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": contact_id(n),
        "Contact_Type__c": "Volunteer",
        "FirstName": f"First{n}",
        "LastName": f"Last{n}",
        "Email": f"person{n}@example.org",
        "MailingPostalCode": "64111",
        **fields,
    }


async def _volunteers(session) -> dict[str, tuple[Volunteer, VolunteerSfContact]]:
    links = (
        await session.execute(select(VolunteerSfContact).execution_options(populate_existing=True))
    ).scalars()
    out = {}
    for link in links:
        volunteer = (
            await session.execute(
                select(Volunteer)
                .where(Volunteer.id == link.volunteer_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        out[link.salesforce_id] = (volunteer, link)
    return out


async def test_sf_10_volunteer_contacts_with_their_volunteers_stamp_are_set_aside(client, admin, sf, session):
    kind = "salesforce-volunteers"
    sf.admin.replace("Contact", [volunteer_contact(n) for n in range(1, 5)])
    first = await sync(client, admin["headers"], kind, mode="full")
    assert first["counts"]["created"] == 4
    before = {
        k: (v.updated_at, v.local_status, link.sf_modstamp)
        for k, (v, link) in (await _volunteers(session)).items()
    }

    # the primary address of volunteer 2 is another's in Polaris: not set aside (the full path
    # decides the address), the others are; a same-stamp record with other values is not read
    volunteer_2 = (await _volunteers(session))[contact_id(2)][0]
    volunteer_2.email_normalized = None
    await session.commit()
    same_stamp = next(r for r in sf.admin.records("Contact") if r["Id"] == contact_id(1))
    sf.admin.upsert("Contact", [same_stamp | {"LastName": "Not read"}], keep_modstamps=True)
    run = await sync(client, admin["headers"], kind, mode="full")
    assert run["status"] == "succeeded", run
    counts = run["counts"]
    assert (counts["unchanged"], counts["updated"], counts["deleted_in_source"]) == (3, 1, 0), counts
    rows = await _volunteers(session)
    assert rows[contact_id(1)][0].last_name == "Last1"
    assert rows[contact_id(2)][0].email_normalized == "person2@example.org"
    for n in (1, 3, 4):
        volunteer, link = rows[contact_id(n)]
        assert (volunteer.updated_at, volunteer.local_status, link.sf_modstamp) == before[contact_id(n)]
        assert link.sf_last_seen_run_id == first["id"]

    # SF-12: a contact gone from Salesforce is still found absent, its volunteer deleted with it
    kept = [r for r in sf.admin.records("Contact") if r["Id"] != contact_id(4)]
    sf.admin.replace("Contact", kept, keep_modstamps=True)
    run = await sync(client, admin["headers"], kind, mode="full")
    assert (run["counts"]["unchanged"], run["counts"]["deleted_in_source"]) == (3, 1), run["counts"]
    rows = await _volunteers(session)
    assert rows[contact_id(4)][1].is_deleted and rows[contact_id(4)][0].is_deleted
    assert not any(rows[contact_id(n)][0].is_deleted for n in (1, 2, 3))


async def test_sf_36_an_activity_is_set_aside_only_while_its_association_holds(client, admin, sf, session):
    sf.admin.replace("Contact", [volunteer_contact(1), volunteer_contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers", mode="full")
    task = {
        "Id": "00T000000000001AAA",
        "WhoId": contact_id(1),
        "Subject": "Call",
        "Type": "Call",
        "CreatedDate": "2025-03-04T14:00:00.000+0000",
    }
    email = {
        "Id": "02s000000000001AAA",
        "Subject": "Hello",
        "FromAddress": "staff@prepkc.org",
        "ToAddress": "person2@example.org",
        "Incoming": False,
        "MessageDate": "2025-04-01T12:00:00.000+0000",
    }
    sf.admin.replace("Task", [task])
    sf.admin.replace("EmailMessage", [email])
    first = await sync(client, admin["headers"], "salesforce-history", mode="full")
    assert first["counts"]["created"] == 2
    statement = select(Communication).execution_options(populate_existing=True)
    rows = {r.salesforce_activity_id: r for r in (await session.execute(statement)).scalars()}
    assert {r.match_status for r in rows.values()} == {"matched_volunteer"}
    stamps = {k: r.updated_at for k, r in rows.items()}

    again = await sync(client, admin["headers"], "salesforce-history", mode="full")
    assert (again["counts"]["unchanged"], again["counts"]["updated"]) == (2, 0), again["counts"]
    rows = {r.salesforce_activity_id: r for r in (await session.execute(statement)).scalars()}
    assert {k: r.updated_at for k, r in rows.items()} == stamps

    # both volunteers leave Salesforce: the records did not change, their association did
    sf.admin.replace("Contact", [], keep_modstamps=True)
    await sync(client, admin["headers"], "salesforce-volunteers", mode="full")
    await sync(client, admin["headers"], "salesforce-history", mode="full")
    rows = {r.salesforce_activity_id: r for r in (await session.execute(statement)).scalars()}
    assert {(r.match_status, r.volunteer_id) for r in rows.values()} == {("unmatched", None)}


async def test_sf_36_a_task_whose_who_id_now_links_another_volunteer_is_matched_again(
    client, admin, sf, session
):
    """The WhoId is SF-36's first hit. A Task matched through it is set aside only while that
    contact still links the same live volunteer (joined to the screen's rows): here the link is
    moved to another volunteer while neither the Task nor the volunteers' records change."""
    sf.admin.replace("Contact", [volunteer_contact(1), volunteer_contact(2)])
    await sync(client, admin["headers"], "salesforce-volunteers", mode="full")
    sf.admin.replace(
        "Task",
        [
            {
                "Id": "00T000000000001AAA",
                "WhoId": contact_id(1),
                "Subject": "Call",
                "Type": "Call",
                "CreatedDate": "2025-03-04T14:00:00.000+0000",
            }
        ],
    )
    await sync(client, admin["headers"], "salesforce-history", mode="full")
    links = {
        link.salesforce_id: link for link in (await session.execute(select(VolunteerSfContact))).scalars()
    }
    first, second = links[contact_id(1)].volunteer_id, links[contact_id(2)].volunteer_id
    statement = select(Communication).execution_options(populate_existing=True)
    assert (await session.execute(statement)).scalar_one().volunteer_id == first
    unchanged = await sync(client, admin["headers"], "salesforce-history", mode="full")
    assert unchanged["counts"]["unchanged"] == 1, unchanged["counts"]

    links[contact_id(1)].volunteer_id = second
    await session.commit()
    run = await sync(client, admin["headers"], "salesforce-history", mode="full")
    assert (run["counts"]["updated"], run["counts"]["unchanged"]) == (1, 0), run["counts"]
    row = (await session.execute(statement)).scalar_one()
    assert (row.volunteer_id, row.match_method) == (second, "sf_contact_id")


async def test_sf_18_an_affiliation_whose_account_is_gone_is_not_set_aside(client, admin, sf, session):
    accounts = [
        {"Id": account_id(1), "Name": "Acme", "Type": "Business"},
        {"Id": account_id(2), "Name": "Central High", "Type": "School"},
    ]
    sf.admin.replace("Account", accounts)
    sf.admin.replace("Contact", [volunteer_contact(1), volunteer_contact(2)])
    for kind in ("salesforce-districts-schools", "salesforce-organizations", "salesforce-volunteers"):
        assert (await sync(client, admin["headers"], kind))["status"] == "succeeded"
    affiliations = [
        {
            "Id": f"a0A{n:012d}AAA",
            "npe5__Contact__c": contact_id(n),
            "npe5__Organization__c": account_id(n),
            "npe5__Status__c": "Current",
        }
        for n in (1, 2)
    ]
    sf.admin.replace("npe5__Affiliation__c", affiliations)
    kind = "salesforce-affiliations"
    assert (await sync(client, admin["headers"], kind, mode="full"))["counts"]["created"] == 2
    again = await sync(client, admin["headers"], kind, mode="full")
    assert (again["counts"]["unchanged"], again["counts"]["pending"]) == (2, 0), again["counts"]

    sf.admin.delete("Account", account_id(1))  # the organization of affiliation 1 is deleted
    await sync(client, admin["headers"], "salesforce-organizations")
    run = await sync(client, admin["headers"], kind, mode="full")
    assert (run["counts"]["unchanged"], run["counts"]["pending"]) == (1, 1), run["counts"]
    pending = (await session.execute(select(SfPendingRecord))).scalar_one()
    assert (pending.salesforce_id, pending.reason) == ("a0A000000000001AAA", "unknown_account")
